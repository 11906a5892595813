package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.GroupNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;

/**
 * diffusers' Attention as the VAE mid block builds it (from the former AttentionBlock): GroupNorm, then one head
 * over the H·W positions with scale C^-0.5, output projection, plus the input.
 *
 * <p>Folders saved by diffusers before 0.14 name the projections {@code query/key/value/proj_attn}, and some
 * converted checkpoints keep the original 1×1-conv shape [C, C, 1, 1]; both are read as the linears they are.
 */
public final class Attention {
    public final String name;
    final GroupNorm groupNorm;
    final Projection toQ, toK, toV, toOut;
    final int channels;

    public Attention(Weights w, int channels, int groups) {
        this.name = w.tapName();
        this.channels = channels;
        groupNorm = new GroupNorm(w.pp("group_norm"), groups, channels, 1e-6f);
        toQ = projection(w, "to_q", "query", channels);
        toK = projection(w, "to_k", "key", channels);
        toV = projection(w, "to_v", "value", channels);
        toOut = projection(w, "to_out.0", "proj_attn", channels);
    }

    /** x [B, C, H, W] → same shape. */
    public Tensor forward(Ctx c, Tensor x) {
        var ops = c.ops();
        Tensor h = ops.nchwToNlc(groupNorm.forward(c, x));
        Tensor q = toQ.forward(c, h), k = toK.forward(c, h), v = toV.forward(c, h);
        Tensor a = toOut.forward(c, ops.attention(q, k, v, 1, (float) (1 / Math.sqrt(channels)), false));
        return c.tap(name, TapLayout.NCHW, ops.add(ops.nlcToNchw(a, x.dim(2), x.dim(3)), x));
    }

    /** A C→C linear with bias, found under its current or its legacy name. */
    record Projection(Tensor weight, Tensor bias) {
        Tensor forward(Ctx c, Tensor x) { return c.ops().linear(x, weight, bias, Activation.NONE); }
    }

    private static Projection projection(Weights w, String current, String legacy, int channels) {
        Weights p = w.pp(w.has(current + ".weight") || !w.has(legacy + ".weight") ? current : legacy);
        Tensor weight = p.has("weight") ? p.get("weight") : null;
        weight = weight != null && Arrays.equals(weight.shape(), new int[]{channels, channels, 1, 1})
            ? weight.reshape(channels, channels)
            : p.get("weight", channels, channels);   // any other shape: the usual error naming the tensor
        return new Projection(weight, p.get("bias", channels));
    }
}
