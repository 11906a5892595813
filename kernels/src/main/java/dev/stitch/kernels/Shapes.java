package dev.stitch.kernels;

import java.util.Arrays;

/**
 * The shape rules every backend shares (the reference, cpu, cuda and the engine's shape-only backend): one place that
 * says what an op accepts, so that the backends cannot drift apart. Violations are programming errors.
 */
public final class Shapes {
    private Shapes() {}

    public static void check(boolean ok, String what) { if (!ok) throw new IllegalArgumentException(what); }

    /** {@code axis} of a rank-{@code rank} tensor, counted from the end when negative. */
    public static int axis(String op, int axis, int rank) {
        int ax = axis < 0 ? rank + axis : axis;
        check(ax >= 0 && ax < rank, op + ": axis " + axis + " of rank " + rank);
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
        check(xs.length > 0, "concat: no tensors");
        int rank = xs[0].rank();
        int[] shape = xs[0].shape();
        int total = 0;
        for (Tensor t : xs) {
            check(t.rank() == rank, "concat: ranks differ");
            for (int i = 0; i < rank; i++)
                check(i == ax || t.dim(i) == shape[i], "concat: " + Arrays.toString(t.shape()) + " vs " + Arrays.toString(shape));
            total += t.dim(ax);
        }
        shape[ax] = total;
        return shape;
    }

    /** The shape of {@code x} cut to {@code [start, end)} along {@code ax}, after checking the bounds. */
    public static int[] slice(Tensor x, int ax, int start, int end) {
        check(0 <= start && start <= end && end <= x.dim(ax), "slice: [" + start + ", " + end + ") of " + x.dim(ax));
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
        check(a.rank() == b.rank() && (a.rank() == 2 || a.rank() == 3), "matmul: ranks " + a.rank() + ", " + b.rank());
        int batch = a.rank() == 3 ? a.dim(0) : 1;
        check(a.rank() == 2 || b.dim(0) == batch, "matmul: batch mismatch");
        int m = transA ? a.dim(-1) : a.dim(-2), k = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        check(k == kb, "matmul: inner dimensions " + k + " vs " + kb);
        return new MatMul(batch, m, n, k);
    }

    /**
     * The output shape [B, Cout, Ho, Wo] of a 2-D convolution of x [B, Cin, H, W] by w [Cout, Cin, kh, kw] (bias b
     * [Cout] or null) at {@code stride} with padding top, bottom, left, right, after checking that they fit.
     */
    public static int[] conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr) {
        check(x.rank() == 4 && w.rank() == 4 && w.dim(1) == x.dim(1),
            "conv2d: x " + Arrays.toString(x.shape()) + " vs w " + Arrays.toString(w.shape()));
        check(stride >= 1 && pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0, "conv2d: stride " + stride + ", negative padding");
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        check(b == null || b.numel() == cout, "conv2d: bias of " + (b == null ? 0 : b.numel()) + " values for " + cout + " channels");
        check(x.dim(2) + pt + pb >= kh && x.dim(3) + pl + pr >= kw, "conv2d: kernel " + kh + "x" + kw + " larger than the padded input");
        return new int[] {x.dim(0), cout, (x.dim(2) + pt + pb - kh) / stride + 1, (x.dim(3) + pl + pr - kw) / stride + 1};
    }
}
