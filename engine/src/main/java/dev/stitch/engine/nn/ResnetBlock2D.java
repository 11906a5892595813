package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' ResnetBlock2D ("default" time-embedding norm, output scale 1): GroupNorm+SiLU, conv, + projected time
 * embedding, GroupNorm+SiLU, conv, plus the (1×1-projected when channels change) input. Shared by UNet and VAE.
 */
public final class ResnetBlock2D {
    public final String name;
    final GroupNorm norm1, norm2;
    final Conv2d conv1, conv2, convShortcut;
    final Linear timeEmbProj;

    /** {@code tembChannels} 0 for the VAE (no time embedding). */
    public ResnetBlock2D(Weights w, int in, int out, int tembChannels, int groups, float eps) {
        this.name = w.tapName();
        norm1 = new GroupNorm(w.pp("norm1"), groups, in, eps);
        conv1 = new Conv2d(w.pp("conv1"), in, out, 3, 1, 1);
        timeEmbProj = tembChannels > 0 ? new Linear(w.pp("time_emb_proj"), tembChannels, out, true) : null;
        norm2 = new GroupNorm(w.pp("norm2"), groups, out, eps);
        conv2 = new Conv2d(w.pp("conv2"), out, out, 3, 1, 1);
        convShortcut = in != out ? new Conv2d(w.pp("conv_shortcut"), in, out, 1, 1, 0) : null;
    }

    /** x [B, in, H, W], temb [B, tembChannels] (already SiLU-activated by the caller, as diffusers does) or null. */
    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu) {
        var ops = c.ops();
        Tensor h = conv1.forward(c, norm1.forwardSilu(c, x));
        if (timeEmbProj != null && tembSilu != null) h = ops.addChannels(h, timeEmbProj.forward(c, tembSilu));
        h = conv2.forward(c, norm2.forwardSilu(c, h));   // dropout is identity at inference
        Tensor skip = convShortcut != null ? convShortcut.forward(c, x) : x;
        return c.tap(name, TapLayout.NCHW, ops.add(skip, h));
    }
}
