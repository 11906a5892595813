package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.LayerNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' BasicTransformerBlock (layer-norm variant, eps 1e-5): pre-norm self-attention, cross-attention on the
 * text embedding, GEGLU feed-forward, each added to the residual stream. The norm outputs are taps of their own.
 */
public final class BasicTransformerBlock {
    public final String name;
    final String norm1Name, norm2Name, norm3Name;
    final LayerNorm norm1, norm2, norm3;
    final Attention attn1, attn2;
    final FeedForward ff;

    public BasicTransformerBlock(Weights w, int dim, int heads, int headDim, int crossAttentionDim) {
        this.name = w.tapName();
        norm1Name = w.pp("norm1").tapName();
        norm2Name = w.pp("norm2").tapName();
        norm3Name = w.pp("norm3").tapName();
        norm1 = new LayerNorm(w.pp("norm1"), dim, 1e-5f);
        attn1 = new Attention(w.pp("attn1"), dim, dim, heads, headDim);
        norm2 = new LayerNorm(w.pp("norm2"), dim, 1e-5f);
        attn2 = new Attention(w.pp("attn2"), dim, crossAttentionDim, heads, headDim);
        norm3 = new LayerNorm(w.pp("norm3"), dim, 1e-5f);
        ff = new FeedForward(w.pp("ff"), dim);
    }

    /** x [B, L, dim], context [B, Lk, crossAttentionDim] → [B, L, dim]. */
    public Tensor forward(Ctx c, Tensor x, Tensor context) {
        var ops = c.ops();
        x = ops.add(attn1.forward(c, c.tap(norm1Name, TapLayout.NLC, norm1.forward(c, x)), null), x);
        x = ops.add(attn2.forward(c, c.tap(norm2Name, TapLayout.NLC, norm2.forward(c, x)), context), x);
        x = ops.add(ff.forward(c, c.tap(norm3Name, TapLayout.NLC, norm3.forward(c, x))), x);
        return c.tap(name, TapLayout.NLC, x);
    }
}
