package dev.stitch.engine.text;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** transformers' CLIPAttention: multi-head self-attention with a causal mask, q scaled by head_dim^-0.5. */
public final class ClipAttention {
    public final String name;
    final Linear qProj, kProj, vProj, outProj;
    final int heads;
    final float scale;

    public ClipAttention(Weights w, ClipTextConfig config) {
        this.name = w.tapName();
        int c = config.hiddenSize();
        qProj = new Linear(w.pp("q_proj"), c, c, true);
        kProj = new Linear(w.pp("k_proj"), c, c, true);
        vProj = new Linear(w.pp("v_proj"), c, c, true);
        outProj = new Linear(w.pp("out_proj"), c, c, true);
        heads = config.numAttentionHeads();
        scale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /** x [B, L, C] → [B, L, C]; token i attends to tokens 0..i only (CLIP's text tower is causal). */
    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = c.ops().attention(qProj.forward(c, x), kProj.forward(c, x), vProj.forward(c, x), heads, scale, true);
        return c.tap(name, TapLayout.NLC, outProj.forward(c, h));
    }
}
