package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.kernels.Tensor;

/** torch.nn.GroupNorm (affine), optionally followed by SiLU in the same pass. */
public final class GroupNorm {
    public final Tensor weight, bias;
    public final int groups;
    public final float eps;

    public GroupNorm(Weights w, int groups, int channels, float eps) {
        this.groups = groups;
        this.eps = eps;
        this.weight = w.get("weight", channels);
        this.bias = w.get("bias", channels);
    }

    public Tensor forward(Ctx c, Tensor x) { return c.ops().groupNorm(x, groups, weight, bias, eps, false); }

    public Tensor forwardSilu(Ctx c, Tensor x) { return c.ops().groupNorm(x, groups, weight, bias, eps, true); }
}
