package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/**
 * torchvision's BasicConv2d: conv without bias, BatchNorm (eps 1e-3, running statistics), ReLU. The BatchNorm is
 * folded into the conv at load time ({@code w·γ/√(var+eps)}, bias {@code β − mean·γ/√(var+eps)}, in double), so a
 * forward is one conv with a fused ReLU.
 */
final class BasicConv2d {
    static final double BN_EPS = 1e-3;

    final String name;
    final Tensor weight, bias;
    final int in, out, stride, padH, padW;

    /** A {@code kh×kw} conv, torch padding {@code (padH, padW)} on both sides of each axis. */
    BasicConv2d(Weights w, int in, int out, int kh, int kw, int stride, int padH, int padW) {
        this.name = w.tapName();
        this.in = in;
        this.out = out;
        this.stride = stride;
        this.padH = padH;
        this.padW = padW;
        float[] conv = w.get("conv.weight", out, in, kh, kw).data();
        Weights bn = w.pp("bn");
        float[] gamma = bn.get("weight", out).data(), beta = bn.get("bias", out).data();
        float[] mean = bn.get("running_mean", out).data(), var = bn.get("running_var", out).data();
        int per = in * kh * kw;
        float[] folded = new float[out * per], b = new float[out];
        for (int o = 0; o < out; o++) {
            double s = gamma[o] / Math.sqrt(var[o] + BN_EPS);
            for (int i = 0; i < per; i++) folded[o * per + i] = (float) (conv[o * per + i] * s);
            b[o] = (float) (beta[o] - mean[o] * s);
        }
        weight = Tensor.of(folded, out, in, kh, kw);
        bias = Tensor.of(b, out);
    }

    BasicConv2d(Weights w, int in, int out, int k, int stride, int pad) { this(w, in, out, k, k, stride, pad, pad); }

    Tensor forward(Ctx c, Tensor x) {
        return c.tap(name, TapLayout.NCHW, c.ops().conv2d(x, weight, bias, stride, padH, padH, padW, padW, Activation.RELU));
    }
}
