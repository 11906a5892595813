package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.nn.GroupNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' VAE Encoder: conv_in, down blocks, mid block, GroupNorm + SiLU, conv_out to 2 × latent channels (the
 * mean and log-variance of the latent distribution, {@code double_z}).
 */
public final class Encoder {
    final Conv2d convIn, convOut;
    final DownEncoderBlock2D[] downBlocks;
    final UNetMidBlock2D midBlock;
    final GroupNorm convNormOut;
    final String convInTap, convNormOutTap, convOutTap;

    public Encoder(Weights w, VaeConfig cfg) {
        int[] ch = cfg.blockOutChannels();
        int groups = cfg.normNumGroups(), last = ch[ch.length - 1];
        convIn = new Conv2d(w.pp("conv_in"), cfg.inChannels(), ch[0], 3, 1, 1);
        downBlocks = new DownEncoderBlock2D[ch.length];
        for (int i = 0; i < ch.length; i++)
            downBlocks[i] = new DownEncoderBlock2D(w.pp("down_blocks").pp(i), i == 0 ? ch[0] : ch[i - 1], ch[i],
                cfg.layersPerBlock(), groups, i < ch.length - 1);
        midBlock = new UNetMidBlock2D(w.pp("mid_block"), last, groups, cfg.midBlockAddAttention());
        convNormOut = new GroupNorm(w.pp("conv_norm_out"), groups, last, 1e-6f);
        convOut = new Conv2d(w.pp("conv_out"), last, 2 * cfg.latentChannels(), 3, 1, 1);
        convInTap = w.pp("conv_in").tapName();
        convNormOutTap = w.pp("conv_norm_out").tapName();
        convOutTap = w.pp("conv_out").tapName();
    }

    /** x [B, in_channels, H, W] → [B, 2 · latent_channels, H / 2^(levels-1), W / 2^(levels-1)]. */
    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = c.tap(convInTap, TapLayout.NCHW, convIn.forward(c, x));
        for (DownEncoderBlock2D b : downBlocks) h = b.forward(c, h);
        h = midBlock.forward(c, h);
        h = c.ops().silu(c.tap(convNormOutTap, TapLayout.NCHW, convNormOut.forward(c, h)));   // tap before the SiLU
        return c.tap(convOutTap, TapLayout.NCHW, convOut.forward(c, h));
    }
}
