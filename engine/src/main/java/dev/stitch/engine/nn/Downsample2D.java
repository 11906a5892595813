package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' Downsample2D with a conv: 3×3 stride 2. The UNet pads 1 on every side; the VAE encoder (padding 0)
 * pads only bottom and right by one, as the original code does.
 */
public final class Downsample2D {
    public final String name;
    final Conv2d conv;
    final boolean asymmetric;

    public Downsample2D(Weights w, int channels, int padding) {
        this.name = w.tapName();
        this.conv = new Conv2d(w.pp("conv"), channels, channels, 3, 2, padding);
        this.asymmetric = padding == 0;
    }

    public Tensor forward(Ctx c, Tensor x) {
        Tensor y = asymmetric ? conv.forward(c, x, 0, 1, 0, 1) : conv.forward(c, x);
        return c.tap(name, TapLayout.NCHW, y);
    }
}
