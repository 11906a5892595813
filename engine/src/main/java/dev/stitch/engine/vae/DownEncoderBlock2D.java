package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Downsample2D;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' DownEncoderBlock2D: resnets without time embedding, then (except at the last level) a stride-2 conv
 * that pads only bottom and right, as the original VAE was trained.
 */
public final class DownEncoderBlock2D {
    public final String name;
    final ResnetBlock2D[] resnets;
    final Downsample2D downsampler;   // null at the last level

    public DownEncoderBlock2D(Weights w, int in, int out, int layers, int groups, boolean addDownsample) {
        this.name = w.tapName();
        resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++)
            resnets[j] = new ResnetBlock2D(w.pp("resnets").pp(j), j == 0 ? in : out, out, 0, groups, 1e-6f);
        downsampler = addDownsample ? new Downsample2D(w.pp("downsamplers").pp(0), out, 0) : null;
    }

    public Tensor forward(Ctx c, Tensor x) {
        for (ResnetBlock2D r : resnets) x = r.forward(c, x, null);
        if (downsampler != null) x = downsampler.forward(c, x);
        return c.tap(name, TapLayout.NCHW, x);
    }
}
