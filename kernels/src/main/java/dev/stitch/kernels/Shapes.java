package dev.stitch.kernels;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The shape rules of the op set, one method per op: what the op accepts and the shape it returns. Every backend (the
 * reference, cpu, cuda, shape-only and timed ones) calls these before it computes anything, so that they accept and
 * refuse the same operands with the same message. Violations are programming errors ({@link IllegalArgumentException}).
 */
public final class Shapes {
    private Shapes() {}

    public static void check(boolean ok, String what) { if (!ok) throw new IllegalArgumentException(what); }

    /** As {@link #check}, with the message built only on failure: the rules run on every op call. */
    private static void require(boolean ok, Supplier<String> what) { if (!ok) throw new IllegalArgumentException(what.get()); }

    /** {@code axis} of a rank-{@code rank} tensor, counted from the end when negative. */
    public static int axis(String op, int axis, int rank) {
        int ax = axis < 0 ? rank + axis : axis;
        require(ax >= 0 && ax < rank, () -> op + ": axis " + axis + " of rank " + rank);
        return ax;
    }

    /** The number of blocks before {@code ax}: the product of the dimensions left of it. */
    public static int outer(int[] shape, int ax) {
        int n = 1;
        for (int i = 0; i < ax; i++) n *= shape[i];
        return n;
    }

    /** The length of one step along {@code ax}: the product of the dimensions right of it. */
    public static int inner(int[] shape, int ax) {
        int n = 1;
        for (int i = ax + 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** The shape of {@code xs} joined along {@code ax}, after checking that they agree everywhere else. */
    public static int[] concat(int ax, Tensor... xs) {
        require(xs.length > 0, () -> "concat: no tensors");
        int rank = xs[0].rank();
        int[] shape = xs[0].shape();
        int total = 0;
        for (Tensor t : xs) {
            require(t.rank() == rank, () -> "concat: ranks differ");
            for (int i = 0; i < rank; i++)
                require(i == ax || t.dim(i) == shape[i], () -> "concat: " + Arrays.toString(t.shape()) + " vs " + Arrays.toString(shape));
            total += t.dim(ax);
        }
        shape[ax] = total;
        return shape;
    }

    /** The shape of {@code x} cut to {@code [start, end)} along {@code ax}, after checking the bounds. */
    public static int[] slice(Tensor x, int ax, int start, int end) {
        require(0 <= start && start <= end && end <= x.dim(ax), () -> "slice: [" + start + ", " + end + ") of " + x.dim(ax));
        int[] shape = x.shape();
        shape[ax] = end - start;
        return shape;
    }

    /** The sizes of a (batched) matmul, checked: {@code op(a) [batch,] m×k} times {@code op(b) [batch,] k×n}. */
    public record MatMul(int batch, int m, int n, int k) {
        /** The result's shape: rank 3 when the operands are batched. */
        public int[] shape(boolean batched) { return batched ? new int[] {batch, m, n} : new int[] {m, n}; }
    }

    public static MatMul matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        require(a.rank() == b.rank() && (a.rank() == 2 || a.rank() == 3), () -> "matmul: ranks " + a.rank() + ", " + b.rank());
        int batch = a.rank() == 3 ? a.dim(0) : 1;
        require(a.rank() == 2 || b.dim(0) == batch, () -> "matmul: batch mismatch");
        int m = transA ? a.dim(-1) : a.dim(-2), k = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        require(k == kb, () -> "matmul: inner dimensions " + k + " vs " + kb);
        return new MatMul(batch, m, n, k);
    }

    /**
     * The output shape [B, Cout, Ho, Wo] of a 2-D convolution of x [B, Cin, H, W] by w [Cout, Cin, kh, kw] (bias b
     * [Cout] or null) at {@code stride} with padding top, bottom, left, right, after checking that they fit.
     */
    public static int[] conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr) {
        require(x.rank() == 4 && w.rank() == 4 && w.dim(1) == x.dim(1),
            () -> "conv2d: x " + Arrays.toString(x.shape()) + " vs w " + Arrays.toString(w.shape()));
        require(stride >= 1 && pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0, () -> "conv2d: stride " + stride + ", negative padding");
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        require(b == null || b.numel() == cout, () -> "conv2d: bias of " + (b == null ? 0 : b.numel()) + " values for " + cout + " channels");
        require(x.dim(2) + pt + pb >= kh && x.dim(3) + pl + pr >= kw, () -> "conv2d: kernel " + kh + "x" + kw + " larger than the padded input");
        return new int[] {x.dim(0), cout, (x.dim(2) + pt + pb - kh) / stride + 1, (x.dim(3) + pl + pr - kw) / stride + 1};
    }

    private static String s(Tensor x) { return Arrays.toString(x.shape()); }

    private static int[] withLast(Tensor x, int last) {
        int[] s = x.shape();
        s[s.length - 1] = last;
        return s;
    }

    /** fromHost: the data fill the shape exactly. */
    public static int[] fromHost(float[] data, int... shape) {
        require(Tensor.count(shape) == data.length, () -> "fromHost: " + data.length + " values for " + Arrays.toString(shape));
        return shape.clone();
    }

    /** x [..., K] times w [N, K] plus b [N] or null → [..., N]. */
    public static int[] linear(Tensor x, Tensor w, Tensor b) {
        require(x.rank() >= 1 && w.rank() == 2 && w.dim(1) == x.dim(-1), () -> "linear: x " + s(x) + " vs w " + s(w));
        require(b == null || b.numel() == w.dim(0), () -> "linear: bias of " + (b == null ? 0 : b.numel()) + " values for " + w.dim(0) + " outputs");
        return withLast(x, w.dim(0));
    }

    /** x [B, C, ...] in {@code groups} groups, gamma and beta [C] → x's shape. */
    public static int[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta) {
        require(x.rank() >= 2 && groups >= 1 && x.dim(1) % groups == 0, () -> "groupNorm: x " + s(x) + " in " + groups + " groups");
        require(gamma.numel() == x.dim(1) && beta.numel() == x.dim(1),
            () -> "groupNorm: gamma " + s(gamma) + ", beta " + s(beta) + " for " + x.dim(1) + " channels");
        return x.shape();
    }

    /** x [..., C], gamma and beta [C] → x's shape. */
    public static int[] layerNorm(Tensor x, Tensor gamma, Tensor beta) {
        require(x.rank() >= 1, () -> "layerNorm: x is a scalar");
        require(gamma.numel() == x.dim(-1) && beta.numel() == x.dim(-1),
            () -> "layerNorm: gamma " + s(gamma) + ", beta " + s(beta) + " for " + x.dim(-1) + " features");
        return x.shape();
    }

    /** q [B, Lq, C], k and v [B, Lk, C] with Lk ≥ 1, C a multiple of {@code heads} → [B, Lq, C]. */
    public static int[] attention(Tensor q, Tensor k, Tensor v, int heads) {
        require(q.rank() == 3 && k.rank() == 3 && v.rank() == 3 && heads >= 1 && q.dim(2) % heads == 0
                && k.dim(0) == q.dim(0) && v.dim(0) == q.dim(0) && k.dim(2) == q.dim(2) && v.dim(2) == q.dim(2)
                && v.dim(1) == k.dim(1) && k.dim(1) >= 1,
            () -> "attention: q " + s(q) + " k " + s(k) + " v " + s(v) + " in " + heads + " heads");
        return q.shape();
    }

    /** An elementwise op of one tensor (silu, gelu, scale) → its shape. */
    public static int[] unary(Tensor x) { return x.shape(); }

    /** An elementwise op of two tensors of one shape (add, mul) → that shape. */
    public static int[] same(String op, Tensor a, Tensor b) {
        require(Arrays.equals(a.shape(), b.shape()), () -> op + ": shapes " + s(a) + " vs " + s(b));
        return a.shape();
    }

    /** x [..., 2C] → [..., C]. */
    public static int[] geglu(Tensor x) {
        require(x.rank() >= 1 && x.dim(-1) % 2 == 0, () -> "geglu: odd last dimension in " + s(x));
        return withLast(x, x.dim(-1) / 2);
    }

    /** x [B, C, ...] plus v [B, C] → x's shape. */
    public static int[] addChannels(Tensor x, Tensor v) {
        require(x.rank() >= 2 && v.rank() == 2 && v.dim(0) == x.dim(0) && v.dim(1) == x.dim(1), () -> "addChannels: x " + s(x) + " v " + s(v));
        return x.shape();
    }

    /**
     * k×k pooling of x [B, C, H, W] at {@code stride} with {@code pad} on every side (at most k/2, as PyTorch) →
     * [B, C, Ho, Wo], at least one output each way.
     */
    public static int[] pool2d(String op, Tensor x, int k, int stride, int pad) {
        require(x.rank() == 4 && k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k,
            () -> op + ": kernel " + k + ", stride " + stride + ", pad " + pad + " over x " + s(x));
        require(x.dim(2) + 2 * pad >= k && x.dim(3) + 2 * pad >= k, () -> op + ": kernel " + k + " larger than the padded x " + s(x));
        return new int[] {x.dim(0), x.dim(1), (x.dim(2) + 2 * pad - k) / stride + 1, (x.dim(3) + 2 * pad - k) / stride + 1};
    }

    /** x [B, C, H, W] → [B, C, outH, outW]. */
    public static int[] upsampleNearest(Tensor x, int outH, int outW) {
        require(x.rank() == 4 && x.dim(2) >= 1 && x.dim(3) >= 1 && outH >= 1 && outW >= 1, () -> "upsampleNearest: x " + s(x) + " to " + outH + "x" + outW);
        return new int[] {x.dim(0), x.dim(1), outH, outW};
    }

    /** [B, C, H, W] → [B, H·W, C]. */
    public static int[] nchwToNlc(Tensor x) {
        require(x.rank() == 4, () -> "nchwToNlc: x " + s(x) + " is not [B, C, H, W]");
        return new int[] {x.dim(0), x.dim(2) * x.dim(3), x.dim(1)};
    }

    /** [B, H·W, C] → [B, C, H, W]. */
    public static int[] nlcToNchw(Tensor x, int h, int w) {
        require(x.rank() == 3 && h >= 0 && w >= 0 && x.dim(1) == h * w, () -> "nlcToNchw: x " + s(x) + " as " + h + "x" + w + " tokens");
        return new int[] {x.dim(0), x.dim(2), h, w};
    }

    /** Rows {@code ids} of table [V, C] → [ids.length, C]. */
    public static int[] embedding(Tensor table, int[] ids) {
        require(table.rank() == 2, () -> "embedding: table " + s(table) + " is not [V, C]");
        for (int id : ids) require(id >= 0 && id < table.dim(0), () -> "embedding: id " + id + " outside [0, " + table.dim(0) + ")");
        return new int[] {ids.length, table.dim(1)};
    }

    /** [t.length, dim]. */
    public static int[] timestepEmbedding(float[] t, int dim) {
        require(dim >= 0, () -> "timestepEmbedding: dimension " + dim);
        return new int[] {t.length, dim};
    }

    // ---- ops along one axis: x is seen as [outer, n, inner], n = x.dim(axis), the vectors along the axis ----------

    /** The axis of a reduction (counted from the end when negative) → x's shape without it. */
    public static int[] reduced(String op, Tensor x, int axis) {
        int ax = axis(op, axis, x.rank());
        int[] out = new int[x.rank() - 1];
        for (int i = 0, j = 0; i < x.rank(); i++) if (i != ax) out[j++] = x.dim(i);
        return out;
    }

    /** mean over {@code axis} → x's shape without it. */
    public static int[] mean(Tensor x, int axis) {
        int[] out = reduced("mean", x, axis);
        require(x.dim(axis("mean", axis, x.rank())) >= 1, () -> "mean: empty axis " + axis + " of x " + s(x));
        return out;
    }

    /** Projection on u [n] over {@code axis} → x's shape without it. */
    public static int[] project(Tensor x, int axis, Tensor u) {
        int[] out = reduced("project", x, axis);
        require(u.numel() == x.dim(axis("project", axis, x.rank())), () -> "project: direction of " + u.numel() + " values for axis " + axis + " of x " + s(x));
        return out;
    }

    /**
     * An edit of the vectors along {@code axis} (not the batch axis 0) in batch rows {@code rows} (distinct, in
     * [0, B)), with per-channel parameters of the axis' length → x's shape.
     */
    public static int[] alongRows(String op, Tensor x, int axis, int[] rows, Tensor... perChannel) {
        int ax = axis(op, axis, x.rank());
        require(ax >= 1, () -> op + ": axis " + axis + " of x " + s(x) + " is the batch axis");
        for (Tensor p : perChannel)
            require(p.numel() == x.dim(ax), () -> op + ": " + p.numel() + " values per channel for axis " + axis + " of x " + s(x));
        boolean[] seen = new boolean[x.dim(0)];
        for (int r : rows) {
            require(r >= 0 && r < x.dim(0) && !seen[r], () -> op + ": rows " + Arrays.toString(rows) + " of a batch of " + x.dim(0));
            seen[r] = true;
        }
        return x.shape();
    }
}
