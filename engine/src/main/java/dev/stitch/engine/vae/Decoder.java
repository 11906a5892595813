package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.nn.GroupNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' VAE Decoder: conv_in, mid block, up blocks from the lowest resolution ({@code up_blocks.0}, widest
 * channels) to the highest, each with one resnet more than the encoder's, GroupNorm + SiLU, conv_out.
 */
public final class Decoder {
    final Conv2d convIn, convOut;
    final UNetMidBlock2D midBlock;
    final UpDecoderBlock2D[] upBlocks;
    final GroupNorm convNormOut;
    final String convInTap, convNormOutTap, convOutTap;

    public Decoder(Weights w, VaeConfig cfg) {
        int[] ch = cfg.blockOutChannels();
        int groups = cfg.normNumGroups(), n = ch.length;
        convIn = new Conv2d(w.pp("conv_in"), cfg.latentChannels(), ch[n - 1], 3, 1, 1);
        midBlock = new UNetMidBlock2D(w.pp("mid_block"), ch[n - 1], groups, cfg.midBlockAddAttention());
        upBlocks = new UpDecoderBlock2D[n];
        for (int i = 0; i < n; i++)
            upBlocks[i] = new UpDecoderBlock2D(w.pp("up_blocks").pp(i), ch[n - 1 - Math.max(i - 1, 0)], ch[n - 1 - i],
                cfg.layersPerBlock() + 1, groups, i < n - 1);
        convNormOut = new GroupNorm(w.pp("conv_norm_out"), groups, ch[0], 1e-6f);
        convOut = new Conv2d(w.pp("conv_out"), ch[0], cfg.outChannels(), 3, 1, 1);
        convInTap = w.pp("conv_in").tapName();
        convNormOutTap = w.pp("conv_norm_out").tapName();
        convOutTap = w.pp("conv_out").tapName();
    }

    /** z [B, latent_channels, h, w] → [B, out_channels, h · 2^(levels-1), w · 2^(levels-1)]. */
    public Tensor forward(Ctx c, Tensor z) {
        Tensor h = c.tap(convInTap, TapLayout.NCHW, convIn.forward(c, z));
        h = midBlock.forward(c, h);
        for (UpDecoderBlock2D b : upBlocks) h = b.forward(c, h);
        h = c.ops().silu(c.tap(convNormOutTap, TapLayout.NCHW, convNormOut.forward(c, h)));   // tap before the SiLU
        return c.tap(convOutTap, TapLayout.NCHW, convOut.forward(c, h));
    }
}
