package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/** torch.nn.Conv2d with square kernel, symmetric padding and a bias (or none, {@code bias=False}). */
public final class Conv2d {
    public final Tensor weight, bias;
    public final int in, out, kernel, stride, padding;

    public Conv2d(Weights w, int in, int out, int kernel, int stride, int padding) { this(w, in, out, kernel, stride, padding, true); }

    /** {@code bias} false: a conv built with {@code bias=False}, whose file has no {@code bias} tensor. */
    public Conv2d(Weights w, int in, int out, int kernel, int stride, int padding, boolean bias) {
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.weight = w.get("weight", out, in, kernel, kernel);
        this.bias = bias ? w.get("bias", out) : null;
    }

    public Tensor forward(Ctx c, Tensor x) { return c.ops().conv2d(x, weight, bias, stride, padding); }

    /** With {@code act} fused into the conv's epilogue. */
    public Tensor forward(Ctx c, Tensor x, Activation act) {
        return c.ops().conv2d(x, weight, bias, stride, padding, padding, padding, padding, act);
    }

    /** With explicit per-side padding (top, bottom, left, right), overriding the symmetric one. */
    public Tensor forward(Ctx c, Tensor x, int pt, int pb, int pl, int pr) {
        return c.ops().conv2d(x, weight, bias, stride, pt, pb, pl, pr, Activation.NONE);
    }
}
