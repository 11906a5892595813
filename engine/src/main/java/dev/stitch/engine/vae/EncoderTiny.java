package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' EncoderTiny: one {@code nn.Sequential} named {@code layers}. Per level a conv (3×3; stride 2 and no bias
 * after the first level) and that level's blocks, then a 3×3 conv to the latent channels. Images come in [-1, 1] and
 * are mapped to [0, 1] first, as TAESD was trained. Every entry of {@code layers} is a tap, {@code vae.encoder.layers.<i>}.
 */
public final class EncoderTiny {
    private final List<TinyLayer> layers = new ArrayList<>();

    public EncoderTiny(Weights w, AutoencoderTinyConfig cfg) {
        int[] ch = cfg.encoderBlockOutChannels(), blocks = cfg.numEncoderBlocks();
        Weights l = w.pp("layers");
        for (int i = 0; i < ch.length; i++) {
            Conv2d conv = i == 0 ? new Conv2d(l.pp(layers.size()), cfg.inChannels(), ch[0], 3, 1, 1)
                : new Conv2d(l.pp(layers.size()), ch[i], ch[i], 3, 2, 1, false);
            layers.add(TinyLayer.of(l.pp(layers.size()), conv::forward));
            for (int j = 0; j < blocks[i]; j++)
                layers.add(TinyLayer.of(new AutoencoderTinyBlock(l.pp(layers.size()), ch[i], cfg.act())));
        }
        Conv2d out = new Conv2d(l.pp(layers.size()), ch[ch.length - 1], cfg.latentChannels(), 3, 1, 1);
        layers.add(TinyLayer.of(l.pp(layers.size()), out::forward));
    }

    /** x [B, in_channels, H, W] in [-1, 1] → latents [B, latent_channels, H / 2^(levels-1), W / 2^(levels-1)]. */
    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = TinyLayer.shift(c, c.ops().scale(x, 0.5f), 0.5f);   // x.add(1).div(2): the same float
        for (TinyLayer layer : layers) h = layer.forward(c, h);
        return h;
    }
}
