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

/** diffusers' UpBlock2D: per layer {@code [current, skip]} concatenated, a ResnetBlock2D; then an optional Upsample2D. */
public final class UpBlock2D implements UNet2DConditionModel.UpBlock {
    public final String name;
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final Upsample2D upsampler;

    public UpBlock2D(Weights w, UNetConfig cfg, int in, int prevOut, int out, int layers, boolean addUpsample) {
        this.name = w.tapName();
        for (int i = 0; i < layers; i++) {
            int skip = i == layers - 1 ? in : out, current = i == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), current + skip, out, cfg.timeEmbedDim(),
                cfg.normNumGroups(), cfg.normEps()));
        }
        upsampler = addUpsample ? new Upsample2D(w.pp("upsamplers").pp(0), out) : null;
    }

    @Override
    public Tensor forward(Ctx c, Tensor x, Tensor tembSilu, Tensor context, Deque<Tensor> skips) {
        for (ResnetBlock2D r : resnets) x = r.forward(c, c.ops().concat(1, x, skips.removeLast()), tembSilu);
        if (upsampler != null) x = upsampler.forward(c, x, skips.getLast().dim(2), skips.getLast().dim(3));
        return c.tap(name, TapLayout.NCHW, x);
    }
}
