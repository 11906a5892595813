package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.nn.GroupNorm;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' Transformer2DModel on an image: GroupNorm (eps 1e-6), proj_in, the transformer blocks over the H·W
 * tokens, proj_out, plus the input. SD2 projects with linear layers on [B, H·W, C] ({@code use_linear_projection});
 * SD 1.x with 1×1 convs on [B, C, H, W] — the same map, but the proj_in/proj_out taps keep the module's layout.
 */
public final class Transformer2DModel {
    public final String name;
    final String projInName, projOutName;
    final GroupNorm norm;
    final Linear projInLinear, projOutLinear;   // use_linear_projection
    final Conv2d projInConv, projOutConv;       // otherwise
    final List<BasicTransformerBlock> transformerBlocks = new ArrayList<>();

    public Transformer2DModel(Weights w, int heads, int headDim, int inChannels, int layers, int crossAttentionDim,
                              int groups, boolean linearProjection) {
        this.name = w.tapName();
        projInName = w.pp("proj_in").tapName();
        projOutName = w.pp("proj_out").tapName();
        int inner = heads * headDim;
        norm = new GroupNorm(w.pp("norm"), groups, inChannels, 1e-6f);
        if (linearProjection) {
            projInLinear = new Linear(w.pp("proj_in"), inChannels, inner, true);
            projOutLinear = new Linear(w.pp("proj_out"), inner, inChannels, true);
            projInConv = projOutConv = null;
        } else {
            projInConv = new Conv2d(w.pp("proj_in"), inChannels, inner, 1, 1, 0);
            projOutConv = new Conv2d(w.pp("proj_out"), inner, inChannels, 1, 1, 0);
            projInLinear = projOutLinear = null;
        }
        for (int i = 0; i < layers; i++)
            transformerBlocks.add(new BasicTransformerBlock(w.pp("transformer_blocks").pp(i), inner, heads, headDim, crossAttentionDim));
    }

    /** x [B, C, H, W], context [B, Lk, crossAttentionDim] → [B, C, H, W]. */
    public Tensor forward(Ctx c, Tensor x, Tensor context) {
        var ops = c.ops();
        int h = x.dim(2), w = x.dim(3);
        Tensor t = norm.forward(c, x);
        t = projInLinear != null
            ? c.tap(projInName, TapLayout.NLC, projInLinear.forward(c, ops.nchwToNlc(t)))
            : ops.nchwToNlc(c.tap(projInName, TapLayout.NCHW, projInConv.forward(c, t)));
        for (BasicTransformerBlock b : transformerBlocks) t = b.forward(c, t, context);
        Tensor out = projOutLinear != null
            ? ops.nlcToNchw(c.tap(projOutName, TapLayout.NLC, projOutLinear.forward(c, t)), h, w)
            : c.tap(projOutName, TapLayout.NCHW, projOutConv.forward(c, ops.nlcToNchw(t, h, w)));
        return c.tap(name, TapLayout.NCHW, ops.add(out, x));
    }
}
