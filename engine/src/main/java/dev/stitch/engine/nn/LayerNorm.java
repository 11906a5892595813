package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.kernels.Tensor;

/** torch.nn.LayerNorm over the last dimension (affine). */
public final class LayerNorm {
    public final Tensor weight, bias;
    public final float eps;

    public LayerNorm(Weights w, int channels, float eps) {
        this.eps = eps;
        this.weight = w.get("weight", channels);
        this.bias = w.get("bias", channels);
    }

    public Tensor forward(Ctx c, Tensor x) { return c.ops().layerNorm(x, weight, bias, eps); }
}
