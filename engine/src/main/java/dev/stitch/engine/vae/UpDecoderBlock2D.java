package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.engine.nn.Upsample2D;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** diffusers' UpDecoderBlock2D: resnets without time embedding, then (except at the last level) nearest 2× and a conv. */
public final class UpDecoderBlock2D {
    public final String name;
    final ResnetBlock2D[] resnets;
    final Upsample2D upsampler;   // null at the last level

    public UpDecoderBlock2D(Weights w, int in, int out, int layers, int groups, boolean addUpsample) {
        this.name = w.tapName();
        resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++)
            resnets[j] = new ResnetBlock2D(w.pp("resnets").pp(j), j == 0 ? in : out, out, 0, groups, 1e-6f);
        upsampler = addUpsample ? new Upsample2D(w.pp("upsamplers").pp(0), out) : null;
    }

    public Tensor forward(Ctx c, Tensor x) {
        for (ResnetBlock2D r : resnets) x = r.forward(c, x, null);
        if (upsampler != null) x = upsampler.forward(c, x);
        return c.tap(name, TapLayout.NCHW, x);
    }
}
