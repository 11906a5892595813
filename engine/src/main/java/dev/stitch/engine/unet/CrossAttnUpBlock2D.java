package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.engine.nn.Upsample2D;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * diffusers' CrossAttnUpBlock2D: per layer, concatenate {@code [current, skip]} on channels (skips popped last
 * first), ResnetBlock2D, Transformer2DModel; then an optional Upsample2D to the size of the next skip.
 */
public final class CrossAttnUpBlock2D implements UNet2DConditionModel.UpBlock {
    public final String name;
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<Transformer2DModel> attentions = new ArrayList<>();
    final Upsample2D upsampler;

    /**
     * {@code in}: channels of the down block this one mirrors (its first skip's width), {@code prevOut}: channels
     * coming from below, {@code transformerLayers}: one entry per layer.
     */
    public CrossAttnUpBlock2D(Weights w, UNetConfig cfg, int in, int prevOut, int out, int heads, int crossAttentionDim,
                              List<Integer> transformerLayers, boolean addUpsample) {
        this.name = w.tapName();
        int n = transformerLayers.size();
        for (int i = 0; i < n; i++) {
            int skip = i == n - 1 ? in : out, current = i == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), current + skip, out, cfg.timeEmbedDim(),
                cfg.normNumGroups(), cfg.normEps()));
            attentions.add(new Transformer2DModel(w.pp("attentions").pp(i), heads, out / heads, out,
                transformerLayers.get(i), crossAttentionDim, cfg.normNumGroups(), cfg.useLinearProjection()));
        }
        upsampler = addUpsample ? new Upsample2D(w.pp("upsamplers").pp(0), out) : null;
    }

    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips) {
        for (int i = 0; i < resnets.size(); i++) {
            x = resnets.get(i).forward(c, c.ops().concat(1, x, skips.removeLast()), tembSilu);
            x = attentions.get(i).forward(c, x, context);
        }
        if (upsampler != null) x = upsampler.forward(c, x, skips.getLast().dim(2), skips.getLast().dim(3));
        return c.tap(name, TapLayout.NCHW, x);
    }
}
