package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/** torch.nn.Linear: weight [out, in], optional bias [out]. */
public final class Linear {
    public final Tensor weight, bias;
    public final int in, out;

    public Linear(Weights w, int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.weight = w.get("weight", out, in);
        this.bias = bias ? w.get("bias", out) : null;
    }

    public Tensor forward(Ctx c, Tensor x) { return c.ops().linear(x, weight, bias, Activation.NONE); }

    public Tensor forward(Ctx c, Tensor x, Activation act) { return c.ops().linear(x, weight, bias, act); }
}
