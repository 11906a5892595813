package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' FeedForward with GEGLU (mult 4): {@code net.0.proj} to 2 × 4·dim, value · gelu(gate) with the value in
 * the first half and exact GELU, then {@code net.2} back to dim.
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

    public Tensor forward(Ctx c, Tensor x) {
        return c.tap(name, TapLayout.NLC, out.forward(c, c.ops().geglu(proj.forward(c, x))));
    }
}
