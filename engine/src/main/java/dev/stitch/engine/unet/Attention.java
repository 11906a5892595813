package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' Attention as the UNet builds it: to_q, to_k, to_v without bias, {@code heads × headDim} wide, softmax
 * scaled by {@code headDim^-0.5}, then to_out.0 with bias. Self-attention when no context is given. The softmax is
 * f32 in every backend, so {@code upcast_attention} needs nothing here.
 */
public final class Attention {
    public final String name;
    final Linear toQ, toK, toV, toOut;
    final int heads;
    final float scale;

    /** {@code contextDim}: width of the keys' source (= queryDim for self-attention). */
    public Attention(Weights w, int queryDim, int contextDim, int heads, int headDim) {
        this.name = w.tapName();
        this.heads = heads;
        this.scale = (float) Math.pow(headDim, -0.5);
        int inner = heads * headDim;
        toQ = new Linear(w.pp("to_q"), queryDim, inner, false);
        toK = new Linear(w.pp("to_k"), contextDim, inner, false);
        toV = new Linear(w.pp("to_v"), contextDim, inner, false);
        toOut = new Linear(w.pp("to_out").pp(0), inner, queryDim, true);
    }

    /** x [B, L, queryDim], context [B, Lk, contextDim] or null for self-attention → [B, L, queryDim]. */
    public Tensor forward(Ctx c, Tensor x, Tensor context) {
        Tensor kv = context == null ? x : context;
        Tensor o = c.ops().attention(toQ.forward(c, x), toK.forward(c, kv), toV.forward(c, kv), heads, scale, false);
        return c.tap(name, TapLayout.NLC, toOut.forward(c, o));
    }
}
