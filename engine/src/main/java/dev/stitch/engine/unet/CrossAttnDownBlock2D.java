package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Downsample2D;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * diffusers' CrossAttnDownBlock2D: per layer a ResnetBlock2D then a Transformer2DModel, each layer's output pushed
 * as a skip; then an optional stride-2 Downsample2D whose output is pushed too.
 */
public final class CrossAttnDownBlock2D implements UNet2DConditionModel.DownBlock {
    public final String name;
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<Transformer2DModel> attentions = new ArrayList<>();
    final Downsample2D downsampler;

    /** {@code transformerLayers}: one entry per layer, the depth of that layer's Transformer2DModel. */
    public CrossAttnDownBlock2D(Weights w, UNetConfig cfg, int in, int out, int heads, int crossAttentionDim,
                                List<Integer> transformerLayers, boolean addDownsample) {
        this.name = w.tapName();
        for (int i = 0; i < transformerLayers.size(); i++) {
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), i == 0 ? in : out, out, cfg.timeEmbedDim(),
                cfg.normNumGroups(), cfg.normEps()));
            attentions.add(new Transformer2DModel(w.pp("attentions").pp(i), heads, out / heads, out,
                transformerLayers.get(i), crossAttentionDim, cfg.normNumGroups(), cfg.useLinearProjection()));
        }
        downsampler = addDownsample ? new Downsample2D(w.pp("downsamplers").pp(0), out, cfg.downsamplePadding()) : null;
    }

    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips) {
        for (int i = 0; i < resnets.size(); i++) {
            x = attentions.get(i).forward(c, resnets.get(i).forward(c, x, tembSilu), context);
            skips.addLast(x);
        }
        if (downsampler != null) {
            x = downsampler.forward(c, x);
            skips.addLast(x);
        }
        return UNet2DConditionModel.DownBlock.tapOutput(c, name, x, skips);
    }
}
