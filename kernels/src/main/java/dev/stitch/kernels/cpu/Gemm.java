package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/**
 * Blocked f32 matrix product C = A·B on the Vector API. Both operands are read as K-major panels: A in tiles of
 * {@link #MR} rows ({@code [K][MR]}), B in panels of {@link #NR} columns ({@code [K][NR]}), zero padded, so that the
 * micro-kernel streams both with unit stride and keeps a 6×2-vector tile of C in 12 registers.
 *
 * <p>The hot spot is {@link #kernel}. It is a small method called once per tile and K block: written as one long
 * loop nest, C2 compiles it on-stack and boxes the vectors (two orders of magnitude slower).
 */
final class Gemm {
    private Gemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows of A per register tile. */
    static final int MR = 6;
    /** Columns of B per register tile: two vectors. */
    static final int NR = 2 * L;
    /** Depth of a K block: an NR-wide B panel slice (KC·NR floats) stays in L1 while A tiles stream past it. */
    static final int KC = 256;

    static int ceil(int a, int b) { return (a + b - 1) / b; }

    // ---- operands ---------------------------------------------------------------------------------------------

    /**
     * A K-major operand cut into panels of {@code width} (MR rows of A or NR columns of B). {@link #prepare} makes
     * the K slice [p0, p0+kc) of panels [first, first+count) available as {@code data[base + i·stride]}, each
     * {@code [kc][width]}; pre-packed operands point into their own array, the others pack into thread scratch.
     */
    abstract static class Panels {
        final int width;
        float[] data;
        int base, stride;

        Panels(int width) { this.width = width; }

        abstract void prepare(int first, int count, int p0, int kc);
    }

    /** Panels packed once over the whole K ({@code [panel][k][width]}), e.g. a weight; one view per task. */
    static final class Packed extends Panels {
        private final float[] packed;
        private final int k;

        Packed(float[] packed, int k, int width) { super(width); this.packed = packed; this.k = k; }

        @Override
        void prepare(int first, int count, int p0, int kc) {
            data = packed;
            base = first * k * width + p0 * width;
            stride = k * width;
        }
    }

    /** An operand whose rows (of A) or columns (of B) each hold their K values contiguously: src[off + i·ld + p]. */
    static final class KInner extends Panels {
        private final float[] src;
        private final int off, ld, count, slot;

        KInner(float[] src, int off, int ld, int count, int width, int slot) {
            super(width);
            this.src = src; this.off = off; this.ld = ld; this.count = count; this.slot = slot;
        }

        @Override
        void prepare(int first, int panels, int p0, int kc) {
            data = Scratch.get(slot, panels * kc * width);
            base = 0;
            stride = kc * width;
            for (int t = 0; t < panels; t++) {
                int d = t * stride;
                for (int r = 0; r < width; r++) {
                    int i = (first + t) * width + r;
                    if (i < count) {
                        int s = off + i * ld + p0;
                        for (int p = 0; p < kc; p++) data[d + p * width + r] = src[s + p];
                    } else {
                        for (int p = 0; p < kc; p++) data[d + p * width + r] = 0f;
                    }
                }
            }
        }
    }

    /** An operand stored K-major already: src[off + p·ld + i] for row (of A) or column (of B) i. */
    static final class KOuter extends Panels {
        private final float[] src;
        private final int off, ld, count, slot;

        KOuter(float[] src, int off, int ld, int count, int width, int slot) {
            super(width);
            this.src = src; this.off = off; this.ld = ld; this.count = count; this.slot = slot;
        }

        @Override
        void prepare(int first, int panels, int p0, int kc) {
            data = Scratch.get(slot, panels * kc * width);
            base = 0;
            stride = kc * width;
            for (int t = 0; t < panels; t++) {
                int i0 = (first + t) * width, n = Math.min(width, count - i0);
                for (int p = 0; p < kc; p++) {
                    int d = t * stride + p * width;
                    System.arraycopy(src, off + (p0 + p) * ld + i0, data, d, n);
                    for (int r = n; r < width; r++) data[d + r] = 0f;
                }
            }
        }
    }

    /** Per-thread packing buffers, reused across calls: slot 0 for A, 1 for B, 3 for edge tiles, others for attention. */
    static final class Scratch {
        private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[6][0]);

        static float[] get(int slot, int size) {
            float[][] b = BUFFERS.get();
            if (b[slot].length < size) b[slot] = new float[size];
            return b[slot];
        }
    }

    // ---- weights ----------------------------------------------------------------------------------------------

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Cache key of a weight's packed form in {@link Tensor#derived}. */
    private record PackKey(int width, int k) {}

    /**
     * The rows of weight {@code w} (viewed as [rows, k], e.g. linear [N, K] or conv [Cout, Cin·kh·kw]) packed once into
     * panels of {@code width} rows, {@code [panel][k][width]}. A memory-mapped f16/bf16/f32 weight is widened straight
     * from its file bytes, so no second full-size f32 copy is kept beside the packed one.
     */
    static float[] packedRows(Parallel par, Tensor w, int rows, int k, int width) {
        return w.derived(new PackKey(width, k), () -> packRows(par, w, rows, k, width));
    }

    private static float[] packRows(Parallel par, Tensor w, int rows, int k, int width) {
        int panels = ceil(rows, width);
        float[] out = new float[Math.multiplyExact(panels * width, k)];
        par.forEach(panels, t -> {
            float[] row = new float[k];
            for (int r = 0; r < width; r++) {
                int i = t * width + r;
                if (i >= rows) break; // the padding stays zero
                readRow(w, i, k, row);
                int d = t * k * width + r;
                for (int p = 0; p < k; p++) out[d + p * width] = row[p];
            }
        });
        return out;
    }

    private static void readRow(Tensor w, int row, int k, float[] dst) {
        if (w.storage() instanceof Tensor.Mapped m) {
            MemorySegment seg = m.segment;
            long at = (long) row * k * m.dtype.bytes;
            switch (m.dtype) {
                case F32 -> MemorySegment.copy(seg, F32_LE, at, dst, 0, k);
                case F16 -> { for (int p = 0; p < k; p++) dst[p] = Float.float16ToFloat(seg.get(I16_LE, at + 2L * p)); }
                case BF16 -> { for (int p = 0; p < k; p++) dst[p] = Float.intBitsToFloat(seg.get(I16_LE, at + 2L * p) << 16); }
            }
        } else {
            System.arraycopy(w.data(), row * k, dst, 0, k);
        }
    }

    // ---- driver -----------------------------------------------------------------------------------------------

    /** Bias (per row of C or per column) and activation applied to each finished tile. */
    record Epilogue(float[] rowBias, float[] colBias, Activation act) {
        static final Epilogue NONE = new Epilogue(null, null, Activation.NONE);

        boolean isNone() { return rowBias == null && colBias == null && act == Activation.NONE; }

        void apply(float[] c, int off, int ldc, int row0, int col0, int rows, int cols) {
            for (int r = 0; r < rows; r++) {
                int o = off + r * ldc;
                float rb = rowBias == null ? 0f : rowBias[row0 + r];
                for (int j = 0; j < cols; j += L) {
                    VectorMask<Float> m = S.indexInRange(j, cols);
                    FloatVector v = FloatVector.fromArray(S, c, o + j, m);
                    if (colBias != null) v = v.add(FloatVector.fromArray(S, colBias, col0 + j, m));
                    if (rowBias != null) v = v.add(rb);
                    Pointwise.apply(act, v).intoArray(c, o + j, m);
                }
            }
        }
    }

    /**
     * C[m×n] = A·B, then the epilogue, with C at {@code c[cOff + i·ldc + j]}. Work is cut into blocks of {@code mTiles}
     * A tiles × {@code nPanels} B panels (shrunk until every thread has several), spread over the pool; each task
     * gets its own operand views from the suppliers.
     */
    static void multiply(Parallel par, int m, int n, int k, Supplier<Panels> a, Supplier<Panels> b,
                         float[] c, int cOff, int ldc, Epilogue ep, int mTiles, int nPanels) {
        int tiles = ceil(m, MR), panels = ceil(n, NR);
        int tb = Math.max(1, Math.min(tiles, mTiles)), pb = Math.max(1, Math.min(panels, nPanels));
        while ((long) ceil(tiles, tb) * ceil(panels, pb) < 3L * par.threads && (tb > 1 || pb > 1)) {
            if (pb >= tb) pb = ceil(pb, 2);
            else tb = ceil(tb, 2);
        }
        int tasksM = ceil(tiles, tb), tasksN = ceil(panels, pb);
        int kc = k == 0 ? 0 : ceil(k, ceil(k, KC)); // equal K blocks
        Epilogue epi = ep == null || ep.isNone() ? null : ep;
        int tbF = tb, pbF = pb;
        par.forEach(tasksM * tasksN, task -> {
            int t0 = (task % tasksM) * tbF, j0 = (task / tasksM) * pbF;
            int tn = Math.min(tbF, tiles - t0), jn = Math.min(pbF, panels - j0);
            Panels pa = a.get(), pbv = b.get();
            float[] edge = Scratch.get(3, MR * NR);
            if (k == 0) { // an empty sum: C is zero (plus the epilogue)
                for (int jp = 0; jp < jn; jp++)
                    for (int it = 0; it < tn; it++)
                        zeroTile(c, cOff, ldc, (t0 + it) * MR, (j0 + jp) * NR, m, n, epi);
                return;
            }
            for (int p0 = 0; p0 < k; p0 += kc) {
                int kcur = Math.min(kc, k - p0);
                boolean first = p0 == 0, last = p0 + kcur == k;
                pa.prepare(t0, tn, p0, kcur);
                pbv.prepare(j0, jn, p0, kcur);
                for (int jp = 0; jp < jn; jp++) {
                    int col = (j0 + jp) * NR, bo = pbv.base + jp * pbv.stride;
                    for (int it = 0; it < tn; it++) {
                        int row = (t0 + it) * MR, ao = pa.base + it * pa.stride;
                        int rows = Math.min(MR, m - row), cols = Math.min(NR, n - col);
                        int co = cOff + row * ldc + col;
                        if (rows == MR && cols == NR) {
                            kernel(pa.data, ao, pbv.data, bo, kcur, c, co, ldc, !first);
                        } else {
                            edgeTile(pa.data, ao, pbv.data, bo, kcur, c, co, ldc, rows, cols, !first, edge);
                        }
                        if (last && epi != null) epi.apply(c, co, ldc, row, col, rows, cols);
                    }
                }
            }
        });
    }

    private static void zeroTile(float[] c, int cOff, int ldc, int row, int col, int m, int n, Epilogue ep) {
        int rows = Math.min(MR, m - row), cols = Math.min(NR, n - col), co = cOff + row * ldc + col;
        for (int r = 0; r < rows; r++) java.util.Arrays.fill(c, co + r * ldc, co + r * ldc + cols, 0f);
        if (ep != null) ep.apply(c, co, ldc, row, col, rows, cols);
    }

    /** A tile cut by the edge of C: computed whole in a side buffer (the panels are zero padded), then copied. */
    private static void edgeTile(float[] a, int ao, float[] b, int bo, int kc, float[] c, int co, int ldc,
                                 int rows, int cols, boolean acc, float[] edge) {
        if (acc) for (int r = 0; r < rows; r++) System.arraycopy(c, co + r * ldc, edge, r * NR, cols);
        kernel(a, ao, b, bo, kc, edge, 0, NR, acc);
        for (int r = 0; r < rows; r++) System.arraycopy(edge, r * NR, c, co + r * ldc, cols);
    }

    /**
     * The micro-kernel: C[6×NR] (+)= A tile [kc][6] · B panel [kc][NR], twelve accumulators in registers.
     * {@code acc} false overwrites C without reading it.
     */
    static void kernel(float[] a, int ao, float[] b, int bo, int kc, float[] c, int co, int ldc, boolean acc) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        int r1 = co + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;
        if (acc) {
            c00 = FloatVector.fromArray(S, c, co); c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, r1); c11 = FloatVector.fromArray(S, c, r1 + L);
            c20 = FloatVector.fromArray(S, c, r2); c21 = FloatVector.fromArray(S, c, r2 + L);
            c30 = FloatVector.fromArray(S, c, r3); c31 = FloatVector.fromArray(S, c, r3 + L);
            c40 = FloatVector.fromArray(S, c, r4); c41 = FloatVector.fromArray(S, c, r4 + L);
            c50 = FloatVector.fromArray(S, c, r5); c51 = FloatVector.fromArray(S, c, r5 + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo), b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector x = FloatVector.broadcast(S, a[ao]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ao + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ao + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            ao += MR;
            bo += NR;
        }
        c00.intoArray(c, co); c01.intoArray(c, co + L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L);
    }
}
