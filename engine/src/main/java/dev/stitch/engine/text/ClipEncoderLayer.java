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

    public ClipEncoderLayer(Weights w, ClipTextConfig config) {
        this.name = w.tapName();
        int c = config.hiddenSize();
        layerNorm1 = new LayerNorm(w.pp("layer_norm1"), c, config.layerNormEps());
        layerNorm1Name = w.pp("layer_norm1").tapName();
        selfAttn = new ClipAttention(w.pp("self_attn"), config);
        layerNorm2 = new LayerNorm(w.pp("layer_norm2"), c, config.layerNormEps());
        layerNorm2Name = w.pp("layer_norm2").tapName();
        mlp = new ClipMlp(w.pp("mlp"), config);
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
