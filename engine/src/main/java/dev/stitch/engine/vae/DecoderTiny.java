package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' DecoderTiny: one {@code nn.Sequential} named {@code layers}. A 3×3 conv and the activation, then per level
 * its blocks, a nearest 2× upsample (except at the last level) and a 3×3 conv without bias (the last, to the image
 * channels, with one). Latents are first soft-clamped to (-3, 3) by {@code tanh(z / 3) · 3}; the output is mapped from
 * [0, 1] to [-1, 1]. Every entry of {@code layers} is a tap, {@code vae.decoder.layers.<i>}.
 */
public final class DecoderTiny {
    private final List<TinyLayer> layers = new ArrayList<>();

    public DecoderTiny(Weights w, AutoencoderTinyConfig cfg) {
        int[] ch = cfg.decoderBlockOutChannels(), blocks = cfg.numDecoderBlocks();
        Activation act = cfg.act();
        Weights l = w.pp("layers");
        Conv2d in = new Conv2d(l.pp(0), cfg.latentChannels(), ch[0], 3, 1, 1);
        layers.add(TinyLayer.of(l.pp(0), in::forward));
        layers.add(TinyLayer.of(l.pp(1), (c, x) -> activate(c.ops(), act, x)));
        for (int i = 0; i < ch.length; i++) {
            boolean last = i == ch.length - 1;
            for (int j = 0; j < blocks[i]; j++)
                layers.add(TinyLayer.of(new AutoencoderTinyBlock(l.pp(layers.size()), ch[i], act)));
            if (!last) layers.add(TinyLayer.of(l.pp(layers.size()), (c, x) -> c.ops().upsampleNearest(x, 2 * x.dim(2), 2 * x.dim(3))));
            Conv2d conv = new Conv2d(l.pp(layers.size()), ch[i], last ? cfg.outChannels() : ch[i], 3, 1, 1, last);
            layers.add(TinyLayer.of(l.pp(layers.size()), conv::forward));
        }
    }

    /** z [B, latent_channels, h, w] → images [B, out_channels, h · 2^(levels-1), w · 2^(levels-1)] in about [-1, 1]. */
    public Tensor forward(Ctx c, Tensor z) {
        Tensor h = c.ops().scale(c.ops().tanh(c.ops().scale(z, 1f / 3)), 3f);   // torch.tanh(x / 3) * 3
        for (TinyLayer layer : layers) h = layer.forward(c, h);
        return TinyLayer.shift(c, c.ops().scale(h, 2f), -1f);   // x.mul(2).sub(1)
    }

    static Tensor activate(Backend ops, Activation act, Tensor x) {
        return switch (act) {
            case RELU -> ops.relu(x);
            case SILU -> ops.silu(x);
            case GELU -> ops.gelu(x);
            case NONE -> x;
        };
    }
}
