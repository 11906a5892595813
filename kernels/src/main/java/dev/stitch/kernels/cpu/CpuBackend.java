package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Shapes;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The fast CPU backend: Vector API micro-kernels with cache blocking (see {@link Gemm}), all cores through one
 * ForkJoin pool. Weights are read where they lie (a mapped file's bytes, f16/bf16 widened a block at a time) and
 * never copied whole; activations are host f32 arrays, as in the reference backend, whose semantics every op here follows exactly.
 */
public final class CpuBackend implements Backend {
    /** Values per task of an elementwise loop: below this, splitting costs more than it saves. */
    private static final int GRAIN = 1 << 15;

    private static volatile CpuBackend shared;

    private final Parallel par;
    private final boolean poison;
    private final ConvAlgorithm conv;

    /** All cores, or {@code -Dstitch.threads=N}; 3×3 convolutions as {@code -Dstitch.conv} says (default auto). */
    public CpuBackend() { this(threadsFromProperty(), false, ConvAlgorithm.fromProperty()); }

    /** With the convolution algorithm of {@code -Dstitch.conv}. */
    public CpuBackend(int threads, boolean poisonOutputs) { this(threads, poisonOutputs, ConvAlgorithm.fromProperty()); }

    /**
     * @param threads worker threads
     * @param poisonOutputs fill every new output with NaN before computing it (tests: an element the kernel forgets
     *                      to write then fails the comparison)
     * @param conv how 3×3 stride-1 convolutions are computed
     */
    public CpuBackend(int threads, boolean poisonOutputs, ConvAlgorithm conv) {
        species(System.getProperty("stitch.vectorBits")); // a bad width fails here in one line, not in a class's init
        this.par = new Parallel(threads);
        this.poison = poisonOutputs;
        this.conv = conv;
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

    /**
     * The float vectors every CPU kernel uses: the machine's widest, or {@code -Dstitch.vectorBits=128|256|512} for
     * tests. A width the machine lacks runs in the Vector API's Java fallback (slower, same results), so a machine
     * without AVX-512 can still check the 16-lane paths that one with it takes.
     */
    static VectorSpecies<Float> species(String bits) {
        if (bits == null || bits.isBlank()) return FloatVector.SPECIES_PREFERRED;
        return switch (bits.strip()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new UserError("stitch.vectorBits=" + bits + ": expected 128, 256 or 512");
        };
    }

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

    @Override public Tensor fromHost(float[] data, int... shape) { return Tensor.of(data, Shapes.fromHost(data, shape)); }

    @Override public float[] toHost(Tensor t) { return t.data(); }

    /** A new output array, NaN-filled when poisoning (package-private for the test of that hook). */
    float[] alloc(long n) {
        float[] out = new float[Math.toIntExact(n)];
        if (poison) Arrays.fill(out, Float.NaN);
        return out;
    }

    /** The product of all but the last dimension. */
    private static int rows(Tensor x) {
        long m = 1;
        for (int i = 0; i < x.rank() - 1; i++) m *= x.dim(i);
        return Math.toIntExact(m);
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
        int[] shape = Shapes.linear(x, w, b);
        int k = x.dim(-1), n = w.dim(0), m = rows(x);
        // out = (w · xᵀ)ᵀ: the weight is A, read in place from its rows (as the packed B it would need a transposed
        // copy of every weight); the activations are packed per call as B panels of tokens, and each block of the
        // product is written back transposed while it is in cache
        float[] xt = Gemm.pack(par, x.data(), 0, k, 1, m, k, Gemm.NR), out = alloc((long) m * n);
        Gemm.multiplyTransposed(par, n, m, k, Gemm.Operand.weightRows(w, k), Gemm.Operand.packed(xt, k, Gemm.NR), out, 0, n,
            new Gemm.Epilogue(b == null ? null : b.data(), null, act));
        return Tensor.of(out, shape);
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
        if (Winograd.applies(kh, kw, stride, pt, pb, pl, pr)
                && (conv == ConvAlgorithm.WINOGRAD || conv == ConvAlgorithm.AUTO && Winograd.pays(ci, co, h, wi))) {
            Winograd.conv2d(par, x.data(), bn, ci, h, wi, w, b == null ? null : b.data(), co, act, out);
            return Tensor.of(out, bn, co, ho, wo);
        }
        Conv.conv2d(par, x.data(), bn, ci, h, wi, w, b == null ? null : b.data(), co, kh, kw, stride, pt, pb, pl, pr, ho, wo, act, out);
        return Tensor.of(out, bn, co, ho, wo);
    }

    // ---- normalisation ------------------------------------------------------------------------------------------

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int bn = x.dim(0), c = x.dim(1);
        int spatial = Math.toIntExact(x.numel() / Math.max(1L, (long) bn * c));
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = alloc(xd.length);
        par.forEach(bn * groups, task -> Norms.groupNorm(xd, out, c, groups, spatial, g, be, eps, silu, task));
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Shapes.layerNorm(x, gamma, beta);
        int c = x.dim(-1), m = rows(x);
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = alloc(xd.length);
        split(m, Math.max(1, GRAIN / Math.max(c, 1)), (from, to) -> Norms.layerNorm(xd, out, c, g, be, eps, from, to));
        return Tensor.of(out, x.shape());
    }

    // ---- attention ----------------------------------------------------------------------------------------------

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        Shapes.attention(q, k, v, heads);
        int bn = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1);
        float[] out = alloc((long) bn * lq * c);
        Attention.attention(par, q.data(), k.data(), v.data(), out, bn, lq, lk, c, heads, scale, causal);
        return Tensor.of(out, bn, lq, c);
    }

    // ---- elementwise --------------------------------------------------------------------------------------------

    private Tensor activation(Tensor x, Activation act) {
        float[] xd = x.data(), out = alloc(xd.length);
        split(xd.length, GRAIN / 8, (from, to) -> Pointwise.act(act, xd, out, from, to));
        return Tensor.of(out, Shapes.unary(x));
    }

    @Override public Tensor silu(Tensor x) { return activation(x, Activation.SILU); }

    @Override public Tensor gelu(Tensor x) { return activation(x, Activation.GELU); }

    @Override public Tensor relu(Tensor x) { return activation(x, Activation.RELU); }

    /** Scalar: it runs on latents only (the tiny autoencoder's clamp), never on a hot path. */
    @Override
    public Tensor tanh(Tensor x) {
        float[] xd = x.data(), out = alloc(xd.length);
        split(xd.length, GRAIN / 8, (from, to) -> {
            for (int i = from; i < to; i++) out[i] = (float) StrictMath.tanh(xd[i]);
        });
        return Tensor.of(out, Shapes.unary(x));
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] shape = Shapes.geglu(x);
        int c = x.dim(-1) / 2, m = rows(x);
        float[] xd = x.data(), out = alloc((long) m * c);
        split(m, Math.max(1, GRAIN / 8 / Math.max(c, 1)), (from, to) -> Pointwise.geglu(xd, out, c, from, to));
        return Tensor.of(out, shape);
    }

    private float[] sameShape(String op, Tensor a, Tensor b) {
        Shapes.same(op, a, b);
        return alloc(a.numel());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        float[] out = sameShape("add", a, b), ad = a.data(), bd = b.data();
        split(out.length, GRAIN, (from, to) -> Pointwise.add(ad, bd, out, from, to));
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        float[] out = sameShape("mul", a, b), ad = a.data(), bd = b.data();
        split(out.length, GRAIN, (from, to) -> Pointwise.mul(ad, bd, out, from, to));
        return Tensor.of(out, a.shape());
    }

    @Override
    public Tensor scale(Tensor a, float s) {
        float[] ad = a.data(), out = alloc(ad.length);
        split(out.length, GRAIN, (from, to) -> Pointwise.scale(ad, s, out, from, to));
        return Tensor.of(out, Shapes.unary(a));
    }

    @Override
    public Tensor addChannels(Tensor x, Tensor v) {
        Shapes.addChannels(x, v);
        int bn = x.dim(0), c = x.dim(1), sp = Math.toIntExact(x.numel() / Math.max(1L, (long) bn * c));
        float[] xd = x.data(), vd = v.data(), out = alloc(xd.length);
        split(bn * c, Math.max(1, GRAIN / Math.max(sp, 1)), (from, to) -> {
            for (int p = from; p < to; p++) Pointwise.addScalar(xd, vd[p], out, p * sp, sp);
        });
        return Tensor.of(out, x.shape());
    }

    // ---- pooling ------------------------------------------------------------------------------------------------

    @Override
    public Tensor avgPool2d(Tensor x, int k, int stride, int pad, boolean countPad) {
        return pool(Shapes.pool2d("avgPool2d", x, k, stride, pad), x, k, stride, pad, false, countPad);
    }

    @Override
    public Tensor maxPool2d(Tensor x, int k, int stride, int pad) {
        return pool(Shapes.pool2d("maxPool2d", x, k, stride, pad), x, k, stride, pad, true, false);
    }

    private Tensor pool(int[] shape, Tensor x, int k, int stride, int pad, boolean max, boolean countPad) {
        int h = x.dim(2), w = x.dim(3), ho = shape[2], wo = shape[3];
        float[] xd = x.data(), out = alloc(Tensor.count(shape));
        split(x.dim(0) * x.dim(1), Math.max(1, GRAIN / Math.max(h * w, 1)),
            (from, to) -> Layout.pool2d(xd, out, h, w, ho, wo, k, stride, pad, max, countPad, from, to));
        return Tensor.of(out, shape);
    }

    // ---- layout (the loops are in Layout) ---------------------------------------------------------------------

    @Override
    public Tensor upsampleNearest(Tensor x, int oh, int ow) {
        int[] shape = Shapes.upsampleNearest(x, oh, ow);
        int h = x.dim(2), w = x.dim(3);
        float[] xd = x.data(), out = alloc(Tensor.count(shape));
        split(x.dim(0) * x.dim(1), Math.max(1, GRAIN / Math.max(oh * ow, 1)),
            (from, to) -> Layout.upsampleNearest(xd, out, h, w, oh, ow, from, to));
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor concat(int axis, Tensor... xs) {
        int ax = Shapes.axis("concat", axis, xs[0].rank());
        int[] shape = Shapes.concat(ax, xs);
        int outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax), row = shape[ax] * inner;
        float[] out = alloc(Tensor.count(shape));
        split(outer, Math.max(1, GRAIN / Math.max(row, 1)), (from, to) -> {
            int pos = 0;
            for (Tensor t : xs) {
                int len = t.dim(ax) * inner;
                Layout.copyRows(t.data(), len, 0, out, row, pos, len, from, to);
                pos += len;
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
        split(outer, Math.max(1, GRAIN / Math.max(len, 1)), (from, to) -> Layout.copyRows(xd, full, off, out, len, 0, len, from, to));
        return Tensor.of(out, shape);
    }

    /** out[n][j][i] = x[n][i][j] for x [bn][rows][cols], in cache-sized tiles. */
    private void transpose(float[] x, float[] out, int bn, int rows, int cols) {
        split(Layout.transposeTasks(bn, rows, cols), 16, (from, to) -> Layout.transposeTiles(x, out, rows, cols, from, to));
    }

    @Override
    public Tensor nchwToNlc(Tensor x) {
        int[] shape = Shapes.nchwToNlc(x);
        float[] out = alloc(x.numel());
        transpose(x.data(), out, x.dim(0), x.dim(1), shape[1]);
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor nlcToNchw(Tensor x, int h, int w) {
        int[] shape = Shapes.nlcToNchw(x, h, w);
        float[] out = alloc(x.numel());
        transpose(x.data(), out, x.dim(0), x.dim(1), x.dim(2));
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        int[] shape = Shapes.embedding(table, ids);
        int c = table.dim(1);
        float[] out = alloc(Tensor.count(shape));
        // the rows asked for, read from the table's own storage: a mapped vocabulary (202 MB in f32 at SD2's size)
        // is never widened whole onto the heap
        for (int i = 0; i < ids.length; i++) table.read((long) ids[i] * c, out, i * c, c);
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float shift) {
        int[] shape = Shapes.timestepEmbedding(t, dim);
        float[] out = alloc(Tensor.count(shape));
        Layout.timestepEmbedding(t, out, dim, flipSinToCos, shift);
        return Tensor.of(out, shape);
    }

    // ---- along one axis (the loops are in Along) ------------------------------------------------------------------

    @Override
    public Tensor mean(Tensor x, int axis) {
        int[] shape = Shapes.mean(x, axis);
        int ax = Shapes.axis("mean", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        float[] xd = x.data(), out = alloc(Tensor.count(shape));
        split(outer, Math.max(1, GRAIN / Math.max(n * inner, 1)), (from, to) -> Along.mean(xd, out, n, inner, from, to));
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor project(Tensor x, int axis, Tensor u) {
        int[] shape = Shapes.project(x, axis, u);
        int ax = Shapes.axis("project", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        float[] xd = x.data(), ud = u.data(), out = alloc(Tensor.count(shape));
        split(outer, Math.max(1, GRAIN / Math.max(n * inner, 1)), (from, to) -> Along.project(xd, ud, out, n, inner, from, to));
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows) {
        int[] shape = Shapes.alongRows("addDirection", x, axis, rows, u);
        int ax = Shapes.axis("addDirection", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        boolean[] sel = Along.selected(rows, x.dim(0));
        float[] xd = x.data(), ud = u.data(), out = alloc(x.numel());
        split(outer, Math.max(1, GRAIN / Math.max(n * inner, 1)),
            (from, to) -> Along.addDirection(xd, ud, out, n, inner, outer / Math.max(1, x.dim(0)), sel, a, b, gate, keepNorm, from, to));
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows) {
        int[] shape = Shapes.alongRows("transport", x, axis, rows, omega, beta, lo, hi);
        int ax = Shapes.axis("transport", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        boolean[] sel = Along.selected(rows, x.dim(0));
        float[] xd = x.data(), w = omega.data(), be = beta.data(), l = lo.data(), h = hi.data(), out = alloc(x.numel());
        split(outer, Math.max(1, GRAIN / Math.max(n * inner, 1)),
            (from, to) -> Along.transport(xd, w, be, l, h, lambda, out, n, inner, outer / Math.max(1, x.dim(0)), sel, keepNorm, from, to));
        return Tensor.of(out, shape);
    }
}
