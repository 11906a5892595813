package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.nn.GroupNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * diffusers' UNet2DConditionModel (SD 1.x/2.x family): the noise (or v) predictor. conv_in, down blocks that push
 * skip tensors, the mid block, up blocks that pop them, then GroupNorm, SiLU, conv_out. Every module output is a
 * tap named by its diffusers path with the {@code unet.} prefix (see docs/unet.md for the picture and the names).
 */
public final class UNet2DConditionModel {
    /** A down block: runs on x, pushes its skip tensors, returns its output. */
    sealed interface DownBlock permits CrossAttnDownBlock2D, DownBlock2D {
        Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips);

        /**
         * The block-output tap. In diffusers the block's output and its last skip are one tensor, so an editor's
         * change to the output reaches the skip too: keep it so here.
         */
        static Tensor tapOutput(Ctx c, String name, Tensor x, Deque<Tensor> skips) {
            Tensor y = c.tap(name, TapLayout.NCHW, x);
            if (y != x) {
                skips.removeLast();
                skips.addLast(y);
            }
            return y;
        }
    }

    /** An up block: pops one skip per resnet, returns its output (upsampled to the size of the next skip). */
    sealed interface UpBlock permits CrossAttnUpBlock2D, UpBlock2D {
        Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips);
    }

    public static final String WEIGHTS = "diffusion_pytorch_model.safetensors";
    public static final String WEIGHTS_FP16 = "diffusion_pytorch_model.fp16.safetensors";

    public final UNetConfig config;
    private final Weights weights;
    final String timeProjName, convInName, convNormOutName, convOutName;
    final TimestepEmbedding timeEmbedding;
    final Conv2d convIn, convOut;
    final List<DownBlock> downBlocks = new ArrayList<>();
    final UNetMidBlock2DCrossAttn midBlock;
    final List<UpBlock> upBlocks = new ArrayList<>();
    final GroupNorm convNormOut;

    /** Reads {@code unetDir/config.json} and the default weights (else the only variant there is; see {@link WeightFiles}). */
    public static UNet2DConditionModel load(Path unetDir) { return load(unetDir, null); }

    /** Reads {@code unetDir/config.json} and the weights of {@code variant} (null: the default), as {@link WeightFiles} chooses. */
    public static UNet2DConditionModel load(Path unetDir, String variant) {
        UNetConfig cfg = UNetConfig.load(unetDir.resolve("config.json"));
        return new UNet2DConditionModel(cfg, Weights.of("unet", SafeTensors.open(WeightFiles.find(unetDir, variant))));
    }

    /** Builds the network; a missing, misshapen or unused tensor is a {@link UserError} naming it. */
    public UNet2DConditionModel(UNetConfig cfg, Weights w) {
        this.config = cfg;
        this.weights = w;
        List<Integer> ch = cfg.blockOutChannels();
        int n = cfg.blocks(), c0 = ch.getFirst();
        timeProjName = w.pp("time_proj").tapName();
        convInName = w.pp("conv_in").tapName();
        convNormOutName = w.pp("conv_norm_out").tapName();
        convOutName = w.pp("conv_out").tapName();

        convIn = new Conv2d(w.pp("conv_in"), cfg.inChannels(), c0, cfg.convInKernel(), 1, cfg.convInKernel() / 2);
        timeEmbedding = new TimestepEmbedding(w.pp("time_embedding"), c0, cfg.timeEmbedDim());

        int out = c0;
        for (int i = 0; i < n; i++) {
            int in = out;
            out = ch.get(i);
            boolean last = i == n - 1;
            Weights b = w.pp("down_blocks").pp(i);
            downBlocks.add(cfg.downBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_DOWN)
                ? new CrossAttnDownBlock2D(b, cfg, in, out, cfg.heads().get(i), cfg.crossAttentionDim().get(i),
                    cfg.transformerLayersDown().get(i), !last)
                : new DownBlock2D(b, cfg, in, out, cfg.layersPerBlock().get(i), !last));
        }

        midBlock = new UNetMidBlock2DCrossAttn(w.pp("mid_block"), cfg, ch.getLast(), cfg.heads().getLast(),
            cfg.crossAttentionDim().getLast(), cfg.midTransformerLayers());

        // Up block i mirrors down block n-1-i: per-block settings reversed, one more resnet for the extra skip.
        List<Integer> rch = ch.reversed(), rHeads = cfg.heads().reversed(), rCross = cfg.crossAttentionDim().reversed(),
            rLayers = cfg.layersPerBlock().reversed();
        out = rch.getFirst();
        for (int i = 0; i < n; i++) {
            int prev = out;
            out = rch.get(i);
            int in = rch.get(Math.min(i + 1, n - 1));
            boolean last = i == n - 1;
            Weights b = w.pp("up_blocks").pp(i);
            upBlocks.add(cfg.upBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_UP)
                ? new CrossAttnUpBlock2D(b, cfg, in, prev, out, rHeads.get(i), rCross.get(i), cfg.transformerLayersUp().get(i), !last)
                : new UpBlock2D(b, cfg, in, prev, out, rLayers.get(i) + 1, !last));
        }

        convNormOut = new GroupNorm(w.pp("conv_norm_out"), cfg.normNumGroups(), c0, cfg.normEps());
        convOut = new Conv2d(w.pp("conv_out"), c0, cfg.outChannels(), cfg.convOutKernel(), 1, cfg.convOutKernel() / 2);
        w.requireAllUsed();
    }

    /**
     * One prediction. sample [B, in, h, w] (any h, w ≥ 1), timesteps of length B or 1 (broadcast; may be
     * fractional), encoderHiddenStates [B, L, crossAttentionDim] → [B, out, h, w].
     */
    public Tensor forward(Ctx c, Tensor sample, float[] timesteps, Tensor encoderHiddenStates) {
        var ops = c.ops();
        int batch = sample.dim(0);
        if (sample.rank() != 4 || sample.dim(1) != config.inChannels())
            throw new IllegalArgumentException("unet: sample " + Arrays.toString(sample.shape()) + ", expected [B, "
                + config.inChannels() + ", h, w]");
        if (encoderHiddenStates.rank() != 3 || encoderHiddenStates.dim(0) != batch)
            throw new IllegalArgumentException("unet: encoder_hidden_states " + Arrays.toString(encoderHiddenStates.shape())
                + ", expected [" + batch + ", L, C]");
        float[] t = timesteps;
        if (t.length == 1 && batch != 1) {
            t = new float[batch];
            Arrays.fill(t, timesteps[0]);
        } else if (t.length != batch) {
            throw new IllegalArgumentException("unet: " + t.length + " timesteps for a batch of " + batch);
        }

        Tensor tProj = c.tap(timeProjName, TapLayout.NC,
            ops.timestepEmbedding(t, config.blockOutChannels().getFirst(), config.flipSinToCos(), config.freqShift()));
        Tensor tembSilu = ops.silu(timeEmbedding.forward(c, tProj));   // every resnet applies SiLU first: do it once

        Tensor x = c.tap(convInName, TapLayout.NCHW, convIn.forward(c, sample));
        Deque<Tensor> skips = new ArrayDeque<>();
        skips.addLast(x);
        for (DownBlock d : downBlocks) x = d.forward(c, x, tembSilu, encoderHiddenStates, skips);
        x = midBlock.forward(c, x, tembSilu, encoderHiddenStates);
        for (UpBlock u : upBlocks) x = u.forward(c, x, tembSilu, encoderHiddenStates, skips);
        assert skips.isEmpty();

        x = c.tap(convNormOutName, TapLayout.NCHW, convNormOut.forward(c, x));
        return c.tap(convOutName, TapLayout.NCHW, convOut.forward(c, ops.silu(x)));
    }

    /** Drops this model's mapped weight pages from memory until its next use ({@link Weights#unloadPages}). */
    public void unloadWeights() { weights.unloadPages(); }
}
