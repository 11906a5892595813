package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Downsample2D;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** diffusers' DownBlock2D: resnets only (each output pushed as a skip), then an optional Downsample2D. */
public final class DownBlock2D implements UNet2DConditionModel.DownBlock {
    public final String name;
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final Downsample2D downsampler;

    public DownBlock2D(Weights w, UNetConfig cfg, int in, int out, int layers, boolean addDownsample) {
        this.name = w.tapName();
        for (int i = 0; i < layers; i++)
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), i == 0 ? in : out, out, cfg.timeEmbedDim(),
                cfg.normNumGroups(), cfg.normEps()));
        downsampler = addDownsample ? new Downsample2D(w.pp("downsamplers").pp(0), out, cfg.downsamplePadding()) : null;
    }

    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips) {
        for (ResnetBlock2D r : resnets) {
            x = r.forward(c, x, tembSilu);
            skips.addLast(x);
        }
        if (downsampler != null) {
            x = downsampler.forward(c, x);
            skips.addLast(x);
        }
        return UNet2DConditionModel.DownBlock.tapOutput(c, name, x, skips);
    }
}
