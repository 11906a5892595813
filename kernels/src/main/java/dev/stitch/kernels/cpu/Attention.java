package dev.stitch.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

import static dev.stitch.kernels.cpu.Gemm.MR;
import static dev.stitch.kernels.cpu.Gemm.NR;
import static dev.stitch.kernels.cpu.Gemm.ceil;

/**
 * Fused scaled-dot-product attention, flash style: per (batch, head, block of QB queries) the keys are visited in
 * blocks of KB with an online softmax in f32, so at most one QB×KB block of scores exists at a time. Both products
 * (Q·Kᵀ and P·V) run on the GEMM micro-kernels: K and V are packed into B panels once per (batch, head), Q and the
 * probabilities are read in place as A rows, and the scale is applied inside the exponent.
 */
final class Attention {
    private Attention() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int L = S.length();
    /** Queries per task (a multiple of MR). */
    private static final int QB = 8 * MR;
    /** Keys per softmax block (a multiple of NR). */
    private static final int KB = 8 * NR;

    static void attention(Parallel par, float[] q, float[] k, float[] v, float[] out, int bn, int lq, int lk, int c,
                          int heads, float scale, boolean causal) {
        int d = c / heads, kPanels = ceil(lk, NR), lkPad = kPanels * NR, dPanels = ceil(d, NR);
        float[][] kp = new float[bn * heads][], vp = new float[bn * heads][];
        par.forEach(bn * heads, bh -> {
            int b = bh / heads, h = bh % heads;
            float[] kt = kp[bh] = new float[kPanels * d * NR]; // Kᵀ as B panels: [key panel][d][NR]
            float[] vt = vp[bh] = new float[dPanels * lkPad * NR]; // V as B panels: [dim panel][key][NR]
            for (int j = 0; j < lk; j++) {
                int src = (b * lk + j) * c + h * d, kd = j / NR * d * NR + j % NR;
                for (int e = 0; e < d; e++) kt[kd + e * NR] = k[src + e];
                for (int e = 0; e < d; e++) vt[e / NR * lkPad * NR + j * NR + e % NR] = v[src + e];
            }
        });
        int qBlocks = ceil(lq, QB);
        par.forEach(bn * heads * qBlocks, task -> {
            int bh = task / qBlocks, b = bh / heads, h = bh % heads, i0 = task % qBlocks * QB;
            queryBlock(q, out, kp[bh], vp[bh], b, h, i0, lq, lk, lkPad, c, d, dPanels, scale, causal);
        });
    }

    private static void queryBlock(float[] q, float[] out, float[] kt, float[] vt, int b, int h, int i0, int lq, int lk,
                                   int lkPad, int c, int d, int dPanels, float scale, boolean causal) {
        int rows = Math.min(QB, lq - i0), tiles = ceil(rows, MR), rowsPad = tiles * MR, dPad = dPanels * NR;
        float[] s = Buffers.get(0, rowsPad * KB); // scores, then probabilities, [row][key]
        float[] o = Buffers.get(1, rowsPad * dPad); // unnormalised output [row][dim]
        float[] max = Buffers.get(2, rowsPad), sum = Buffers.get(3, rowsPad);
        Arrays.fill(o, 0, rowsPad * dPad, 0f);
        Arrays.fill(max, 0, rowsPad, Float.NEGATIVE_INFINITY);
        Arrays.fill(sum, 0, rowsPad, 0f);
        int q0 = (b * lq + i0) * c + h * d; // Q is read in place, row by row
        int jEnd = causal ? Math.min(lk, i0 + rows) : lk; // a causal block sees keys up to its last query
        for (int j0 = 0; j0 < jEnd; j0 += KB) {
            int kn = Math.min(KB, jEnd - j0), kPan = ceil(kn, NR), w = kPan * NR;
            for (int jp = 0; jp < kPan; jp++)
                for (int t = 0; t < tiles; t++)
                    Gemm.kernelRows(q, q0 + t * MR * c, c, Math.min(MR, rows - t * MR), kt, (j0 / NR + jp) * d * NR, d,
                        s, t * MR * w + jp * NR, w, false);
            for (int r = 0; r < rowsPad; r++) {
                int valid = causal ? Math.min(kn, i0 + r - j0 + 1) : kn, so = r * w;
                if (valid <= 0) { Arrays.fill(s, so, so + w, 0f); continue; } // every key of this block is masked
                float mNew = Math.max(max[r], rowMax(s, so, valid, scale));
                float alpha = (float) Math.exp(max[r] - mNew); // 0 on the first block
                sum[r] = sum[r] * alpha + expRow(s, so, valid, w, scale, mNew);
                max[r] = mNew;
                if (alpha != 1f) scaleRow(o, r * dPad, dPad, alpha);
            }
            // P·V with P read in place, row by row
            for (int dp = 0; dp < dPanels; dp++)
                for (int t = 0; t < tiles; t++)
                    Gemm.kernelRows(s, t * MR * w, w, MR, vt, dp * lkPad * NR + j0 * NR, w, o, t * MR * dPad + dp * NR, dPad, true);
        }
        for (int r = 0; r < rows; r++) {
            float inv = 1f / sum[r];
            int dst = (b * lq + i0 + r) * c + h * d;
            for (int e = 0; e < d; e++) out[dst + e] = o[r * dPad + e] * inv;
        }
    }

    /** Per-thread work arrays of a query block, reused across calls. */
    private static final class Buffers {
        private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[4][0]);

        static float[] get(int slot, int size) {
            float[][] b = ARRAYS.get();
            if (b[slot].length < size) b[slot] = new float[size];
            return b[slot];
        }
    }

    /** max over j < n of s[j]·scale. */
    private static float rowMax(float[] s, int from, int n, float scale) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j + L <= n; j += L) acc = acc.max(FloatVector.fromArray(S, s, from + j).mul(scale));
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            acc = acc.max(FloatVector.fromArray(S, s, from + j, m).mul(scale).blend(Float.NEGATIVE_INFINITY, m.not()));
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /** s[j] = exp(s[j]·scale − max) for j < n, 0 for n ≤ j < w (a multiple of L); returns the sum. */
    private static float expRow(float[] s, int from, int n, int w, float scale, float max) {
        FloatVector acc = FloatVector.zero(S);
        FloatVector sc = FloatVector.broadcast(S, scale), neg = FloatVector.broadcast(S, -max);
        for (int j = 0; j < w; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector e = Pointwise.exp(FloatVector.fromArray(S, s, from + j).fma(sc, neg));   // own exp: the same bits before and after JIT
            e = FloatVector.zero(S).blend(e, m);
            e.intoArray(s, from + j);
            acc = acc.add(e);
        }
        return Pointwise.sumLanes(acc);   // fixed order, so results repeat run to run
    }

    private static void scaleRow(float[] o, int from, int n, float f) {
        for (int j = 0; j < n; j += L) FloatVector.fromArray(S, o, from + j).mul(f).intoArray(o, from + j);
    }
}
