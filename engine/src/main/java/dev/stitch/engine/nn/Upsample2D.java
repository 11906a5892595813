package dev.stitch.engine.nn;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' Upsample2D with a conv: nearest-neighbour resize (2×, or to the size of the skip tensor it meets when
 * the latent side is odd), then a 3×3 conv.
 */
public final class Upsample2D {
    public final String name;
    final Conv2d conv;

    public Upsample2D(Weights w, int channels) {
        this.name = w.tapName();
        this.conv = new Conv2d(w.pp("conv"), channels, channels, 3, 1, 1);
    }

    public Tensor forward(Ctx c, Tensor x) { return forward(c, x, x.dim(2) * 2, x.dim(3) * 2); }

    public Tensor forward(Ctx c, Tensor x, int outH, int outW) {
        return c.tap(name, TapLayout.NCHW, conv.forward(c, c.ops().upsampleNearest(x, outH, outW)));
    }
}
