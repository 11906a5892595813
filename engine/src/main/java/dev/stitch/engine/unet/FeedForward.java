package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' FeedForward with GEGLU (mult 4): {@code net.0.proj} to 2 × 4·dim, value · gelu(gate) with the value in
 * the first half and exact GELU, then {@code net.2} back to dim.
 *
 * <p>Runs over at most {@link #CHUNK_ROWS} token rows at a time, as diffusers' feed-forward chunking does: the
 * projection is 8 × dim wide, so at 64×64 latents a 4-row call would hold 168 MB for it and 84 MB for the GEGLU
 * output at once. Every row is computed alone in every op here, so the output is the same bit for bit.
 */
public final class FeedForward {
    public final String name;
    final Linear proj, out;

    public FeedForward(Weights w, int dim) {
        this.name = w.tapName();
        int inner = dim * 4;
        proj = new Linear(w.pp("net").pp(0).pp("proj"), dim, inner * 2, true);
        out = new Linear(w.pp("net").pp(2), inner, dim, true);
    }

    /** Token rows per chunk: a 64×64 latent's tokens, one image at a time. */
    static final int CHUNK_ROWS = 4096;

    public Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        int dim = x.dim(-1), rows = Math.toIntExact(x.numel() / dim);
        Tensor y;
        if (rows <= CHUNK_ROWS) {
            y = out.forward(c, ops.geglu(proj.forward(c, x)));
        } else {
            Tensor flat = x.reshape(rows, dim);
            Tensor[] parts = new Tensor[(rows + CHUNK_ROWS - 1) / CHUNK_ROWS];
            for (int i = 0; i < parts.length; i++) {
                Tensor chunk = ops.slice(flat, 0, i * CHUNK_ROWS, Math.min(rows, (i + 1) * CHUNK_ROWS));
                parts[i] = out.forward(c, ops.geglu(proj.forward(c, chunk)));
            }
            y = ops.concat(0, parts).reshape(x.shape());
        }
        return c.tap(name, TapLayout.NLC, y);
    }
}
