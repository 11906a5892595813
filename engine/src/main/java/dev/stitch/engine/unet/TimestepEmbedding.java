package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/** diffusers' TimestepEmbedding: linear_1, SiLU, linear_2 on the sinusoidal projection of the timestep. */
public final class TimestepEmbedding {
    public final String name;
    final Linear linear1, linear2;

    public TimestepEmbedding(Weights w, int inChannels, int timeEmbedDim) {
        this.name = w.tapName();
        linear1 = new Linear(w.pp("linear_1"), inChannels, timeEmbedDim, true);
        linear2 = new Linear(w.pp("linear_2"), timeEmbedDim, timeEmbedDim, true);
    }

    /** sample [B, inChannels] → [B, timeEmbedDim]. */
    public Tensor forward(Ctx c, Tensor sample) {
        Tensor h = linear1.forward(c, sample, Activation.SILU);
        return c.tap(name, TapLayout.NC, linear2.forward(c, h));
    }
}
