package dev.stitch.engine.text;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/** transformers' CLIPAttention: multi-head self-attention, q scaled by head_dim^-0.5. */
public final class ClipAttention {
    public final String name;
    final Linear qProj, kProj, vProj, outProj;
    final int heads;
    final float scale;
    final boolean causal;

    /** {@code causal}: the text tower masks later tokens, the vision tower (CLIP score) attends everywhere. */
    public ClipAttention(Weights w, int hidden, int heads, boolean causal) {
        this.name = w.tapName();
        qProj = new Linear(w.pp("q_proj"), hidden, hidden, true);
        kProj = new Linear(w.pp("k_proj"), hidden, hidden, true);
        vProj = new Linear(w.pp("v_proj"), hidden, hidden, true);
        outProj = new Linear(w.pp("out_proj"), hidden, hidden, true);
        this.heads = heads;
        this.scale = (float) (1.0 / Math.sqrt(hidden / heads));
        this.causal = causal;
    }

    /** x [B, L, C] → [B, L, C]. */
    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = c.ops().attention(qProj.forward(c, x), kProj.forward(c, x), vProj.forward(c, x), heads, scale, causal);
        return c.tap(name, TapLayout.NLC, outProj.forward(c, h));
    }
}
