package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** diffusers' UNetMidBlock2DCrossAttn (one layer): resnets.0, attentions.0, resnets.1 at the lowest resolution. */
public final class UNetMidBlock2DCrossAttn {
    public final String name;
    final ResnetBlock2D resnet0, resnet1;
    final Transformer2DModel attention;

    public UNetMidBlock2DCrossAttn(Weights w, UNetConfig cfg, int channels, int heads, int crossAttentionDim, int transformerLayers) {
        this.name = w.tapName();
        resnet0 = new ResnetBlock2D(w.pp("resnets").pp(0), channels, channels, cfg.timeEmbedDim(), cfg.normNumGroups(), cfg.normEps());
        attention = new Transformer2DModel(w.pp("attentions").pp(0), heads, channels / heads, channels, transformerLayers,
            crossAttentionDim, cfg.normNumGroups(), cfg.useLinearProjection());
        resnet1 = new ResnetBlock2D(w.pp("resnets").pp(1), channels, channels, cfg.timeEmbedDim(), cfg.normNumGroups(), cfg.normEps());
    }

    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context) {
        x = resnet0.forward(c, x, tembSilu);
        x = resnet1.forward(c, attention.forward(c, x, context), tembSilu);
        return c.tap(name, TapLayout.NCHW, x);
    }
}
