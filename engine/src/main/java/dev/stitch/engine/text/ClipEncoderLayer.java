package dev.stitch.engine.text;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.LayerNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** transformers' CLIPEncoderLayer, pre-LN: x + self_attn(layer_norm1(x)), then + mlp(layer_norm2(x)). */
public final class ClipEncoderLayer {
    public final String name;
    final String layerNorm1Name, layerNorm2Name;
    final LayerNorm layerNorm1, layerNorm2;
    final ClipAttention selfAttn;
    final ClipMlp mlp;

    /** One layer of either CLIP tower: the text tower's is {@code causal}, the vision tower's is not. */
    public ClipEncoderLayer(Weights w, int hidden, int intermediate, int heads, String act, float eps, boolean causal) {
        this.name = w.tapName();
        layerNorm1 = new LayerNorm(w.pp("layer_norm1"), hidden, eps);
        layerNorm1Name = w.pp("layer_norm1").tapName();
        selfAttn = new ClipAttention(w.pp("self_attn"), hidden, heads, causal);
        layerNorm2 = new LayerNorm(w.pp("layer_norm2"), hidden, eps);
        layerNorm2Name = w.pp("layer_norm2").tapName();
        mlp = new ClipMlp(w.pp("mlp"), hidden, intermediate, act);
    }

    public Tensor forward(Ctx c, Tensor x) {
        var ops = c.ops();
        Tensor h = c.tap(layerNorm1Name, TapLayout.NLC, layerNorm1.forward(c, x));
        x = ops.add(x, selfAttn.forward(c, h));
        h = c.tap(layerNorm2Name, TapLayout.NLC, layerNorm2.forward(c, x));
        x = ops.add(x, mlp.forward(c, h));
        return c.tap(name, TapLayout.NLC, x);
    }
}
