package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;


/**
 * Blocked f32 matrix product C = A·B on the Vector API. B is always packed in panels of {@link #NR} columns
 * ({@code [K][NR]}, zero padded: weights once, other operands per call); A comes in tiles of {@link #MR} rows, packed
 * ({@code [K][MR]}) or read in place from its rows. The micro-kernel keeps a 6×2-vector tile of C in 12 registers
 * and streams both operands with unit stride.
 *
 * <p>The hot spots are {@link #kernelPacked} and {@link #kernelRows}. They are small methods called once per tile and
 * K block: written as one long loop nest, C2 compiles the loop on-stack and boxes the vectors (a 50× slowdown).
 */
final class Gemm {
    private Gemm() {}

    /** The kernels' float vectors: the machine's widest, or {@code -Dstitch.vectorBits} ({@link CpuBackend#species}). */
    static final VectorSpecies<Float> S = CpuBackend.species(System.getProperty("stitch.vectorBits"));
    static final int L = S.length();
    /** Rows of A per register tile. */
    static final int MR = 6;
    /** Columns of B per register tile: two vectors. */
    static final int NR = 2 * L;
    /** Depth of a K block: an NR-wide B panel slice (KC·NR floats) stays in L1 while A tiles stream past it. */
    static final int KC = 256;

    static int ceil(int a, int b) { return (a + b - 1) / b; }

    /** The K block for a depth of k: equal blocks of at most KC. */
    static int kBlock(int k) { return k == 0 ? 0 : ceil(k, ceil(k, KC)); }

    // ---- operands ---------------------------------------------------------------------------------------------

    /**
     * A strided view of an operand as panels of {@code width} (MR rows of A or NR columns of B): element p of row r
     * of panel i lies at {@code data[off + i·panelStride + p·kStep + r·rowStep]}. Packed panels ({@code [panel][k][width]},
     * zero padded) have kStep = width and rowStep 1; a row-major A read in place has kStep 1 and rowStep = its row length.
     */
    record Operand(float[] data, int off, int panelStride, int kStep, int rowStep, Tensor weight) {
        static Operand packed(float[] data, int k, int width) { return new Operand(data, 0, k * width, width, 1, null); }

        /**
         * A row-major A [m][ld] read in place: the kernel broadcasts from six rows at once, so rows need no
         * interleaving, and A is never copied.
         */
        static Operand rows(float[] data, int off, int ld) { return new Operand(data, off, MR * ld, 1, ld, null); }

        /**
         * A weight viewed as [rows, k] (linear [N, K], conv [Cout, Cin·kh·kw]) as A, read in its own storage: host
         * rows in place; a mapped file's rows a block at a time (see {@link #block}), widened from f16/bf16 on the way.
         * No packed or widened copy of the whole weight is ever made, so a model's weights take the memory of their
         * mapped files and nothing more.
         */
        static Operand weightRows(Tensor w, int k) {
            return w.storage() instanceof Tensor.Host h ? rows(h.data(), 0, k) : new Operand(null, 0, MR * k, 1, k, w);
        }
    }

    /**
     * Packs {@code count} vectors of k values into panels of {@code width}, {@code [panel][k][width]}, zero padded.
     * Vector i's value p is {@code src[off + i·iStep + p·pStep]}: pStep 1 for rows that hold their k values
     * contiguously (a [N, K] matrix as B), iStep 1 for a K-major matrix.
     */
    static float[] pack(Parallel par, float[] src, int off, int iStep, int pStep, int count, int k, int width) {
        int panels = ceil(count, width);
        float[] out = new float[Math.multiplyExact(panels * width, k)];
        par.forEach(panels, t -> {
            int n = Math.min(width, count - t * width);
            if (pStep == 1) {
                // vectors that hold their k values contiguously (activations as B): read each in order, write it
                // down its column of the panel, which stays in L1
                for (int r = 0; r < n; r++) {
                    int s0 = off + (t * width + r) * iStep, d = t * k * width + r;
                    for (int p = 0; p < k; p++) out[d + p * width] = src[s0 + p];
                }
                return;
            }
            for (int p = 0; p < k; p++) {
                int d = (t * k + p) * width, s0 = off + t * width * iStep + p * pStep;
                for (int r = 0; r < n; r++) out[d + r] = src[s0 + r * iStep];
            }
        });
        return out;
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
     * A tiles per task block: the A block (MR·M_TILES rows × KC, 196 KB) stays in L2 while B panels pass, and each
     * B panel slice fetched from memory serves this many tiles from L1.
     */
    private static final int M_TILES = 32;
    /**
     * B panels per task block: the task's C block (MR·M_TILES × NR·N_PANELS, 147 KB), revisited once per K block,
     * stays in L2 too (two hyperthreads may share it), so the kernel does not wait for its tile of C.
     */
    private static final int N_PANELS = 6;

    /**
     * C[m×n] = A·B, then the epilogue, with C at {@code c[cOff + i·ldc + j]} and B packed. Work is cut into blocks
     * of A tiles × B panels (shrunk until every thread has several) spread over the pool. Inside a block, for each
     * K slice, each B panel slice is loaded into L1 once and met by every A tile of the block.
     */
    static void multiply(Parallel par, int m, int n, int k, Operand a, Operand b, float[] c, int cOff, int ldc, Epilogue ep) {
        assert b.kStep() == NR && b.rowStep() == 1 : "B must be packed";
        int tiles = ceil(m, MR), panels = ceil(n, NR);
        int tb = Math.min(tiles, M_TILES), pb = Math.min(panels, N_PANELS);
        while ((long) ceil(tiles, tb) * ceil(panels, pb) < 3L * par.threads && (tb > 1 || pb > 1)) {
            if (pb >= tb) pb = ceil(pb, 2);
            else tb = ceil(tb, 2);
        }
        int tasksM = ceil(tiles, tb), tasksN = ceil(panels, pb), tbF = tb, pbF = pb;
        int kc = kBlock(k);
        Epilogue epi = ep == null || ep.isNone() ? null : ep;
        par.forEach(tasksM * tasksN, task -> {
            int t0 = task % tasksM * tbF, j0 = task / tasksM * pbF;
            block(m, n, k, kc, a, b, c, cOff, ldc, epi, t0, Math.min(tbF, tiles - t0), j0, Math.min(pbF, panels - j0));
        });
    }

    /**
     * The same product, stored transposed: {@code c[cOff + j·ldc + i] = (A·B)[i][j]} (then the epilogue, applied
     * before the transpose with A's rows as the rows). Each task computes its block of A·B in a per-thread buffer,
     * where it stays in cache, and writes it out transposed once its K loop is done: no transposed copy of the
     * whole product, and no second pass over it.
     */
    static void multiplyTransposed(Parallel par, int m, int n, int k, Operand a, Operand b, float[] c, int cOff, int ldc,
                                   Epilogue ep) {
        assert b.kStep() == NR && b.rowStep() == 1 : "B must be packed";
        int tiles = ceil(m, MR), panels = ceil(n, NR);
        int tb = Math.min(tiles, M_TILES), pb = Math.min(panels, N_PANELS);
        while ((long) ceil(tiles, tb) * ceil(panels, pb) < 3L * par.threads && (tb > 1 || pb > 1)) {
            if (pb >= tb) pb = ceil(pb, 2);
            else tb = ceil(tb, 2);
        }
        int tasksM = ceil(tiles, tb), tbF = tb, pbF = pb;
        int kc = kBlock(k);
        Epilogue epi = ep == null || ep.isNone() ? null : ep;
        par.forEach(tasksM * ceil(panels, pb), task -> {
            int t0 = task % tasksM * tbF, j0 = task / tasksM * pbF, tn = Math.min(tbF, tiles - t0), jn = Math.min(pbF, panels - j0);
            // the block as whole tiles (A and B are padded to them), so the kernel needs no edge handling here
            float[] cb = C_BLOCK.get();
            int ldb = jn * NR, rows = Math.min(tn * MR, m - t0 * MR), cols = Math.min(jn * NR, n - j0 * NR);
            if (k == 0) java.util.Arrays.fill(cb, 0, tn * MR * ldb, 0f);
            for (int p0 = 0; p0 < k; p0 += kc) {
                int kcur = Math.min(kc, k - p0);
                Operand at = a.weight() == null ? a : weightBlock(a.weight(), k, t0 * MR, rows, p0, kcur);
                for (int jp = j0; jp < j0 + jn; jp++) {
                    int bo = b.off() + jp * b.panelStride() + p0 * NR;
                    for (int t = t0; t < t0 + tn; t++) {
                        int ao = at.off() + t * at.panelStride() + p0 * at.kStep(), co = (t - t0) * MR * ldb + (jp - j0) * NR;
                        if (at.kStep() == 1) kernelRows(at.data(), ao, at.rowStep(), Math.min(MR, m - t * MR), b.data(), bo, kcur, cb, co, ldb, p0 > 0);
                        else kernelPacked(at.data(), ao, b.data(), bo, kcur, cb, co, ldb, p0 > 0);
                    }
                }
            }
            if (epi != null) epi.apply(cb, 0, ldb, t0 * MR, j0 * NR, rows, cols);
            int r0 = t0 * MR, q0 = j0 * NR;
            for (int j = 0; j < cols; j++) {
                int d = cOff + (q0 + j) * ldc + r0;
                for (int i = 0; i < rows; i++) c[d + i] = cb[i * ldb + j];
            }
        });
    }

    private static final ThreadLocal<float[]> C_BLOCK = ThreadLocal.withInitial(() -> new float[MR * M_TILES * NR * N_PANELS]);

    private static void block(int m, int n, int k, int kc, Operand a, Operand b, float[] c, int cOff, int ldc,
                              Epilogue ep, int t0, int tn, int j0, int jn) {
        float[] edge = EDGE.get();
        if (k == 0) { // an empty sum: C is zero (plus the epilogue)
            for (int jp = j0; jp < j0 + jn; jp++)
                for (int t = t0; t < t0 + tn; t++) {
                    int row = t * MR, col = jp * NR, rows = Math.min(MR, m - row), cols = Math.min(NR, n - col);
                    int co = cOff + row * ldc + col;
                    for (int r = 0; r < rows; r++) java.util.Arrays.fill(c, co + r * ldc, co + r * ldc + cols, 0f);
                    if (ep != null) ep.apply(c, co, ldc, row, col, rows, cols);
                }
            return;
        }
        for (int p0 = 0; p0 < k; p0 += kc) {
            int kcur = Math.min(kc, k - p0);
            boolean acc = p0 > 0, last = p0 + kcur == k;
            Operand at = a.weight() == null ? a : weightBlock(a.weight(), k, t0 * MR, Math.min(tn * MR, m - t0 * MR), p0, kcur);
            for (int jp = j0; jp < j0 + jn; jp++) {
                int col = jp * NR, cols = Math.min(NR, n - col), bo = b.off() + jp * b.panelStride() + p0 * NR;
                for (int t = t0; t < t0 + tn; t++) {
                    int row = t * MR, ao = at.off() + t * at.panelStride() + p0 * at.kStep();
                    tile(at, ao, Math.min(MR, m - row), b.data(), bo, kcur, c, cOff + row * ldc + col, ldc,
                        row, col, cols, acc, last ? ep : null, edge);
                }
            }
        }
    }

    /**
     * One C tile: the kernel for A's layout, through a side buffer when C's edge cuts the tile (the operands are
     * padded, so the kernel always computes a whole tile), then the epilogue if given.
     */
    private static void tile(Operand a, int ao, int rows, float[] b, int bo, int kc, float[] c, int co, int ldc,
                             int row, int col, int cols, boolean acc, Epilogue ep, float[] edge) {
        boolean whole = rows == MR && cols == NR;
        float[] dst = whole ? c : edge;
        int d = whole ? co : 0, ld = whole ? ldc : NR;
        if (!whole && acc) for (int r = 0; r < rows; r++) System.arraycopy(c, co + r * ldc, edge, r * NR, cols);
        if (a.kStep() == 1) kernelRows(a.data(), ao, a.rowStep(), rows, b, bo, kc, dst, d, ld, acc);
        else kernelPacked(a.data(), ao, b, bo, kc, dst, d, ld, acc);
        if (!whole) for (int r = 0; r < rows; r++) System.arraycopy(edge, r * NR, c, co + r * ldc, cols);
        if (ep != null) ep.apply(c, co, ldc, row, col, rows, cols);
    }

    /**
     * Rows [row0, row0 + rows) × columns [p0, p0 + kc) of a mapped weight, copied (and widened) into this thread's
     * buffer as [rows][kc], and returned as the rows operand that addresses them where the whole weight would be. One
     * copy serves every B panel of the task block, so it costs a few percent of the block's arithmetic.
     */
    private static Operand weightBlock(Tensor w, int k, int row0, int rows, int p0, int kc) {
        float[] buf = A_BLOCK.get();
        for (int r = 0; r < rows; r++) w.read((long) (row0 + r) * k + p0, buf, r * kc, kc);
        return new Operand(buf, -row0 * kc - p0, MR * kc, 1, kc, null);
    }

    private static final ThreadLocal<float[]> A_BLOCK = ThreadLocal.withInitial(() -> new float[MR * M_TILES * KC]);

    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[MR * NR]);

    /**
     * The micro-kernel: C[6×NR] (+)= A tile [kc][6] · B panel [kc][NR], twelve accumulators in registers.
     * {@code acc} false overwrites C without reading it.
     */
    static void kernelPacked(float[] a, int ao, float[] b, int bo, int kc, float[] c, int co, int ldc, boolean acc) {
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
            int i = ao + p * MR, j = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, j), b1 = FloatVector.fromArray(S, b, j + L);
            FloatVector x = FloatVector.broadcast(S, a[i]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[i + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[i + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[i + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[i + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[i + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, co); c01.intoArray(c, co + L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L);
    }

    /**
     * The same micro-kernel reading A in place from six rows {@code rs} apart. Rows from {@code rows} on repeat the
     * last valid row (the caller drops their results), so a partial tile reads nothing outside A.
     */
    static void kernelRows(float[] a, int ao, int rs, int rows, float[] b, int bo, int kc,
                           float[] c, int co, int ldc, boolean acc) {
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
        int a0 = ao, a1 = ao + rs * Math.min(1, rows - 1), a2 = ao + rs * Math.min(2, rows - 1);
        int a3 = ao + rs * Math.min(3, rows - 1), a4 = ao + rs * Math.min(4, rows - 1), a5 = ao + rs * Math.min(5, rows - 1);
        for (int p = 0; p < kc; p++) {
            int j = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, j), b1 = FloatVector.fromArray(S, b, j + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + p]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + p]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + p]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + p]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + p]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, co); c01.intoArray(c, co + L);
        c10.intoArray(c, r1); c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2); c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3); c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4); c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5); c51.intoArray(c, r5 + L);
    }
}
