package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** diffusers' UNetMidBlock2D as the VAE uses it (one layer, no time embedding): resnet, attention, resnet. */
public final class UNetMidBlock2D {
    public final String name;
    final ResnetBlock2D resnet0, resnet1;
    final Attention attention;   // null when the config has mid_block_add_attention = false

    public UNetMidBlock2D(Weights w, int channels, int groups, boolean addAttention) {
        this.name = w.tapName();
        resnet0 = new ResnetBlock2D(w.pp("resnets").pp(0), channels, channels, 0, groups, 1e-6f);
        attention = addAttention ? new Attention(w.pp("attentions").pp(0), channels, groups) : null;
        resnet1 = new ResnetBlock2D(w.pp("resnets").pp(1), channels, channels, 0, groups, 1e-6f);
    }

    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = resnet0.forward(c, x, null);
        if (attention != null) h = attention.forward(c, h);
        return c.tap(name, TapLayout.NCHW, resnet1.forward(c, h, null));
    }
}
