package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Shapes;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.Arrays;

/**
 * The fast CPU backend: Vector API micro-kernels with cache blocking (see {@link Gemm}), all cores through one
 * ForkJoin pool. Weights are packed once per tensor (f16/bf16 widened while packing) and kept with it; activations
 * are host f32 arrays, as in the reference backend, whose semantics every op here follows exactly.
 */
public final class CpuBackend implements Backend {
    /** Values per task of an elementwise loop: below this, splitting costs more than it saves. */
    private static final int GRAIN = 1 << 15;

    private static volatile CpuBackend shared;

    private final Parallel par;
    private final boolean poison;

    /** All cores, or {@code -Dstitch.threads=N}. */
    public CpuBackend() { this(threadsFromProperty(), false); }

    /**
     * @param threads worker threads
     * @param poisonOutputs fill every new output with NaN before computing it (tests: an element the kernel forgets
     *                      to write then fails the comparison)
     */
    public CpuBackend(int threads, boolean poisonOutputs) {
        this.par = new Parallel(threads);
        this.poison = poisonOutputs;
    }

    /** One backend per process, so that its threads and packed weights are shared. */
    public static CpuBackend shared() {
        CpuBackend b = shared;
        if (b == null) {
            synchronized (CpuBackend.class) {
                if ((b = shared) == null) shared = b = new CpuBackend();
            }
        }
        return b;
    }

    public int threads() { return par.threads; }

    static int threadsFromProperty() {
        String s = System.getProperty("stitch.threads");
        if (s == null || s.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int n = Integer.parseInt(s.strip());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UserError("stitch.threads=" + s + ": expected a whole number of threads, at least 1");
    }

    @Override public String name() { return "cpu"; }

    @Override public Tensor fromHost(float[] data, int... shape) { return Tensor.of(data, shape); }

    @Override public float[] toHost(Tensor t) { return t.data(); }

    /** A new output array, NaN-filled when poisoning (package-private for the test of that hook). */
    float[] alloc(long n) {
        float[] out = new float[Math.toIntExact(n)];
        if (poison) Arrays.fill(out, Float.NaN);
        return out;
    }

    private static void check(boolean ok, String what) { Shapes.check(ok, what); }

    /** The product of all but the last dimension. */
    private static int rows(Tensor x) {
        long m = 1;
        for (int i = 0; i < x.rank() - 1; i++) m *= x.dim(i);
        return Math.toIntExact(m);
    }

    private static int[] withLast(int[] shape, int last) {
        int[] s = shape.clone();
        s[s.length - 1] = last;
        return s;
    }

    /** Runs body over [0, n) cut into pieces of at least {@code grain}. */
    private void split(int n, int grain, RangeBody body) {
        int parts = (int) Math.min(Math.max(1, (long) n / grain), 4L * par.threads);
        par.forEach(parts, i -> body.run((int) ((long) n * i / parts), (int) ((long) n * (i + 1) / parts)));
    }

    @FunctionalInterface
    private interface RangeBody { void run(int from, int to); }

    // ---- linear algebra -----------------------------------------------------------------------------------------

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        int k = x.dim(-1), n = w.dim(0), m = rows(x);
        check(w.rank() == 2 && w.dim(1) == k, "linear: x " + Arrays.toString(x.shape()) + " vs w " + Arrays.toString(w.shape()));
        check(b == null || b.numel() == n, "linear: bias of " + (b == null ? 0 : b.numel()) + " values for " + n + " outputs");
        float[] out = alloc((long) m * n);
        Gemm.multiply(par, m, n, k, Gemm.Operand.rows(x.data(), 0, k), Gemm.packedWeight(par, w, n, k, Gemm.NR), out, 0, n,
            new Gemm.Epilogue(null, b == null ? null : b.data(), act));
        return Tensor.of(out, withLast(x.shape(), n));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Shapes.MatMul mm = Shapes.matmul(a, b, transA, transB);
        int batch = mm.batch(), m = mm.m(), n = mm.n(), k = mm.k();
        float[] ad = a.data(), bd = b.data(), out = alloc((long) batch * m * n);
        for (int z = 0; z < batch; z++) {
            int ao = z * m * k, bo = z * k * n;
            // A is read in place unless transposed; B is packed whole (B [N, K] holds each column's K values in a row)
            Gemm.Operand ga = transA ? Gemm.Operand.packed(Gemm.pack(par, ad, ao, 1, m, m, k, Gemm.MR), k, Gemm.MR)
                : Gemm.Operand.rows(ad, ao, k);
            float[] gb = transB ? Gemm.pack(par, bd, bo, k, 1, n, k, Gemm.NR) : Gemm.pack(par, bd, bo, 1, n, n, k, Gemm.NR);
            Gemm.multiply(par, m, n, k, ga, Gemm.Operand.packed(gb, k, Gemm.NR), out, z * m * n, n, Gemm.Epilogue.NONE);
        }
        return a.rank() == 3 ? Tensor.of(out, batch, m, n) : Tensor.of(out, m, n);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr, Activation act) {
        int[] shape = Shapes.conv2d(x, w, b, stride, pt, pb, pl, pr);
        int bn = x.dim(0), ci = x.dim(1), h = x.dim(2), wi = x.dim(3);
        int co = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = shape[2], wo = shape[3];
        float[] out = alloc((long) bn * co * ho * wo);
        Conv.conv2d(par, x.data(), bn, ci, h, wi, w, b == null ? null : b.data(), co, kh, kw, stride, pt, pb, pl, pr, ho, wo, act, out);
        return Tensor.of(out, bn, co, ho, wo);
    }

    // ---- normalisation ------------------------------------------------------------------------------------------

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        int bn = x.dim(0), c = x.dim(1);
        check(c % groups == 0, "groupNorm: " + c + " channels in " + groups + " groups");
        check(gamma.numel() == c && beta.numel() == c, "groupNorm: affine parameters for " + c + " channels");
        int spatial = Math.toIntExact(x.numel() / ((long) bn * c));
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = alloc(xd.length);
        par.forEach(bn * groups, task -> Norms.groupNorm(xd, out, c, groups, spatial, g, be, eps, silu, task));
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int c = x.dim(-1), m = rows(x);
        check(gamma.numel() == c && beta.numel() == c, "layerNorm: affine parameters for " + c + " features");
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = alloc(xd.length);
        split(m, Math.max(1, GRAIN / Math.max(c, 1)), (from, to) -> Norms.layerNorm(xd, out, c, g, be, eps, from, to));
        return Tensor.of(out, x.shape());
    }

    // ---- attention ----------------------------------------------------------------------------------------------

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        check(q.rank() == 3 && k.rank() == 3 && v.rank() == 3, "attention: q, k, v must be [B, L, C]");
        int bn = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        check(heads >= 1 && c % heads == 0 && k.dim(2) == c && v.dim(2) == c && k.dim(0) == bn && v.dim(0) == bn
                && v.dim(1) == lk && lk >= 1,
            "attention: q " + Arrays.toString(q.shape()) + " k " + Arrays.toString(k.shape()) + " v " + Arrays.toString(v.shape()));
        float[] out = alloc((long) bn * lq * c);
        Attention.attention(par, q.data(), k.data(), v.data(), out, bn, lq, lk, c, heads, scale, causal);
        return Tensor.of(out, bn, lq, c);
    }

    // ---- elementwise --------------------------------------------------------------------------------------------

    private Tensor activation(Tensor x, Activation act) {
        float[] xd = x.data(), out = alloc(xd.length);
        split(xd.length, GRAIN / 8, (from, to) -> Pointwise.act(act, xd, out, from, to));
        return Tensor.of(out, x.shape());
    }

    @Override public Tensor silu(Tensor x) { return activation(x, Activation.SILU); }

    @Override public Tensor gelu(Tensor x) { return activation(x, Activation.GELU); }

    @Override
    public Tensor geglu(Tensor x) {
        int c2 = x.dim(-1), c = c2 / 2, m = rows(x);
        check(c2 % 2 == 0, "geglu: odd last dimension " + c2);
        float[] xd = x.data(), out = alloc((long) m * c);
        split(m, Math.max(1, GRAIN / 8 / Math.max(c, 1)), (from, to) -> Pointwise.geglu(xd, out, c, from, to));
        return Tensor.of(out, withLast(x.shape(), c));
    }

    private float[] sameShape(Tensor a, Tensor b) {
        check(Arrays.equals(a.shape(), b.shape()), "shapes " + Arrays.toString(a.shape()) + " vs " + Arrays.toString(b.shape()));
        return alloc(a.numel());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        float[] out = sameShape(a, b), ad = a.data(), bd = b.data();
        split(out.length, GRAIN, (from, to) -> Pointwise.add(ad, bd, out, from, to));
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        float[] out = sameShape(a, b), ad = a.data(), bd = b.data();
        split(out.length, GRAIN, (from, to) -> Pointwise.mul(ad, bd, out, from, to));
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor scale(Tensor a, float s) {
        float[] ad = a.data(), out = alloc(ad.length);
        split(out.length, GRAIN, (from, to) -> Pointwise.scale(ad, s, out, from, to));
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor addChannels(Tensor x, Tensor v) {
        int bn = x.dim(0), c = x.dim(1), sp = Math.toIntExact(x.numel() / ((long) bn * c));
        check(v.rank() == 2 && v.dim(0) == bn && v.dim(1) == c, "addChannels: v " + Arrays.toString(v.shape()));
        float[] xd = x.data(), vd = v.data(), out = alloc(xd.length);
        split(bn * c, Math.max(1, GRAIN / Math.max(sp, 1)), (from, to) -> {
            for (int p = from; p < to; p++) Pointwise.addScalar(xd, vd[p], out, p * sp, sp);
        });
        return Tensor.of(out, x.shape());
    }

    // ---- pooling ------------------------------------------------------------------------------------------------

    @Override
    public Tensor avgPool2d(Tensor x, int k, int stride, int pad, boolean countPad) { return pool(x, k, stride, pad, false, countPad); }

    @Override
    public Tensor maxPool2d(Tensor x, int k, int stride, int pad) { return pool(x, k, stride, pad, true, false); }

    private Tensor pool(Tensor x, int k, int stride, int pad, boolean max, boolean countPad) {
        check(x.rank() == 4 && k >= 1 && stride >= 1 && pad >= 0, "pool: x " + Arrays.toString(x.shape()) + ", kernel " + k);
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
        float[] xd = x.data(), out = alloc((long) bn * c * ho * wo);
        split(bn * c, Math.max(1, GRAIN / Math.max(h * w, 1)), (from, to) -> {
            for (int p = from; p < to; p++)
                for (int y = 0; y < ho; y++)
                    for (int xx = 0; xx < wo; xx++) {
                        float acc = max ? Float.NEGATIVE_INFINITY : 0f;
                        int n = 0;
                        for (int dy = 0; dy < k; dy++) {
                            int iy = y * stride + dy - pad;
                            if (iy < 0 || iy >= h) continue;
                            for (int dx = 0; dx < k; dx++) {
                                int ix = xx * stride + dx - pad;
                                if (ix < 0 || ix >= w) continue;
                                float v = xd[(p * h + iy) * w + ix];
                                acc = max ? Math.max(acc, v) : acc + v;
                                n++;
                            }
                        }
                        out[(p * ho + y) * wo + xx] = max ? acc : acc / (countPad ? k * k : n);
                    }
        });
        return Tensor.of(out, bn, c, ho, wo);
    }

    // ---- layout -------------------------------------------------------------------------------------------------

    @Override
    public Tensor upsampleNearest(Tensor x, int oh, int ow) {
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        float[] xd = x.data(), out = alloc((long) bn * c * oh * ow);
        int[] sx = new int[ow];
        for (int i = 0; i < ow; i++) sx[i] = (int) ((long) i * w / ow);
        split(bn * c, Math.max(1, GRAIN / Math.max(oh * ow, 1)), (from, to) -> {
            for (int p = from; p < to; p++)
                for (int y = 0; y < oh; y++) {
                    int src = (p * h + (int) ((long) y * h / oh)) * w, dst = (p * oh + y) * ow;
                    if (y > 0 && (long) y * h / oh == (long) (y - 1) * h / oh) { // same source row: copy the row above
                        System.arraycopy(out, dst - ow, out, dst, ow);
                        continue;
                    }
                    for (int i = 0; i < ow; i++) out[dst + i] = xd[src + sx[i]];
                }
        });
        return Tensor.of(out, bn, c, oh, ow);
    }

    @Override
    public Tensor concat(int axis, Tensor... xs) {
        int ax = Shapes.axis("concat", axis, xs[0].rank());
        int[] shape = Shapes.concat(ax, xs);
        int outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax), total = shape[ax];
        float[] out = alloc(Tensor.count(shape));
        int innerF = inner, totalF = total;
        split(outer, Math.max(1, GRAIN / Math.max(total * inner, 1)), (from, to) -> {
            for (int o = from; o < to; o++) {
                int pos = o * totalF * innerF;
                for (Tensor t : xs) {
                    int len = t.dim(ax) * innerF;
                    System.arraycopy(t.data(), o * len, out, pos, len);
                    pos += len;
                }
            }
        });
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        int ax = Shapes.axis("slice", axis, x.rank());
        int[] shape = Shapes.slice(x, ax, start, end);
        int outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        int len = (end - start) * inner, full = x.dim(ax) * inner, off = start * inner;
        float[] xd = x.data(), out = alloc((long) outer * len);
        split(outer, Math.max(1, GRAIN / Math.max(len, 1)), (from, to) -> {
            for (int o = from; o < to; o++) System.arraycopy(xd, o * full + off, out, o * len, len);
        });
        return Tensor.of(out, shape);
    }

    /** Tile edge of the blocked transposes below: a 32×32 tile of each side fits in L1. */
    private static final int T = 32;

    /** out[n][j][i] = x[n][i][j] for x [bn][rows][cols], in cache-sized tiles. */
    private void transpose(float[] x, float[] out, int bn, int rows, int cols) {
        int rt = Gemm.ceil(rows, T), ct = Gemm.ceil(cols, T);
        split(bn * rt * ct, 16, (from, to) -> {
            for (int task = from; task < to; task++) {
                int n = task / (rt * ct), i0 = task / ct % rt * T, j0 = task % ct * T, base = n * rows * cols;
                int i1 = Math.min(rows, i0 + T), j1 = Math.min(cols, j0 + T);
                for (int j = j0; j < j1; j++)
                    for (int i = i0; i < i1; i++) out[base + j * rows + i] = x[base + i * cols + j];
            }
        });
    }

    @Override
    public Tensor nchwToNlc(Tensor x) {
        check(x.rank() == 4, "nchwToNlc: x " + Arrays.toString(x.shape()));
        int bn = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        float[] out = alloc(x.numel());
        transpose(x.data(), out, bn, c, hw);
        return Tensor.of(out, bn, hw, c);
    }

    @Override
    public Tensor nlcToNchw(Tensor x, int h, int w) {
        int bn = x.dim(0), hw = x.dim(1), c = x.dim(2);
        check(hw == h * w, "nlcToNchw: " + hw + " tokens for " + h + "x" + w);
        float[] out = alloc(x.numel());
        transpose(x.data(), out, bn, hw, c);
        return Tensor.of(out, bn, c, h, w);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        int v = table.dim(0), c = table.dim(1);
        float[] td = table.data(), out = alloc((long) ids.length * c);
        for (int i = 0; i < ids.length; i++) {
            check(ids[i] >= 0 && ids[i] < v, "embedding: id " + ids[i] + " outside [0, " + v + ")");
            System.arraycopy(td, ids[i] * c, out, i * c, c);
        }
        return Tensor.of(out, ids.length, c);
    }

    @Override
    public Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float shift) {
        int half = dim / 2;
        float[] out = alloc((long) t.length * dim);
        if (dim % 2 == 1) for (int n = 0; n < t.length; n++) out[n * dim + dim - 1] = 0f; // odd dim: zero pad, as diffusers
        for (int n = 0; n < t.length; n++)
            for (int i = 0; i < half; i++) {
                // diffusers computes the exponent, the frequency and the product in float32: so do we
                float e = (float) -Math.log(10000) * i / (half - shift);
                float f = (float) Math.exp(e);
                float arg = t[n] * f;
                float s = (float) Math.sin(arg), co = (float) Math.cos(arg);
                out[n * dim + i] = flipSinToCos ? co : s;
                out[n * dim + half + i] = flipSinToCos ? s : co;
            }
        return Tensor.of(out, t.length, dim);
    }
}
