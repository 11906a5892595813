package dev.stitch.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

import static dev.stitch.kernels.cpu.Gemm.MR;
import static dev.stitch.kernels.cpu.Gemm.NR;
import static dev.stitch.kernels.cpu.Gemm.ceil;

/**
 * Fused scaled-dot-product attention, flash style: per (batch, head, block of QB queries) the keys are visited in
 * blocks of KB with an online softmax in f32, so at most one QB×KB block of scores exists at a time. Both products
 * (Q·Kᵀ and P·V) run on the GEMM micro-kernel; K and V are packed into its panel layout once per (batch, head).
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
        float[] qt = Gemm.Scratch.get(0, tiles * d * MR); // scaled Q as A tiles [tile][d][MR]
        for (int r = 0; r < rowsPad; r++) {
            int at = r / MR * d * MR + r % MR, src = (b * lq + i0 + r) * c + h * d;
            for (int e = 0; e < d; e++) qt[at + e * MR] = r < rows ? q[src + e] * scale : 0f;
        }
        float[] s = Gemm.Scratch.get(1, rowsPad * KB); // scores, then probabilities, [row][key]
        float[] pt = Gemm.Scratch.get(2, tiles * KB * MR); // probabilities as A tiles [tile][key][MR]
        float[] o = Gemm.Scratch.get(4, rowsPad * dPad); // unnormalised output [row][dim]
        Arrays.fill(o, 0, rowsPad * dPad, 0f);
        float[] max = new float[rowsPad];
        double[] sum = new double[rowsPad];
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        int jEnd = causal ? Math.min(lk, i0 + rows) : lk; // a causal block sees keys up to its last query
        for (int j0 = 0; j0 < jEnd; j0 += KB) {
            int kn = Math.min(KB, jEnd - j0), kPan = ceil(kn, NR), w = kPan * NR;
            for (int jp = 0; jp < kPan; jp++)
                for (int t = 0; t < tiles; t++)
                    Gemm.kernel(qt, t * d * MR, kt, (j0 / NR + jp) * d * NR, d, s, t * MR * w + jp * NR, w, false);
            for (int r = 0; r < rowsPad; r++) {
                int valid = causal ? Math.min(kn, i0 + r - j0 + 1) : kn, so = r * w;
                if (valid <= 0) { Arrays.fill(s, so, so + w, 0f); continue; } // every key of this block is masked
                float mNew = Math.max(max[r], rowMax(s, so, valid));
                float alpha = (float) Math.exp(max[r] - mNew); // 0 on the first block
                sum[r] = sum[r] * alpha + expRow(s, so, valid, w, mNew);
                max[r] = mNew;
                if (alpha != 1f) scaleRow(o, r * dPad, dPad, alpha);
            }
            for (int r = 0; r < rowsPad; r++) {
                int at = r / MR * w * MR + r % MR, so = r * w;
                for (int j = 0; j < w; j++) pt[at + j * MR] = s[so + j];
            }
            for (int dp = 0; dp < dPanels; dp++)
                for (int t = 0; t < tiles; t++)
                    Gemm.kernel(pt, t * w * MR, vt, dp * lkPad * NR + j0 * NR, w, o, t * MR * dPad + dp * NR, dPad, true);
        }
        for (int r = 0; r < rows; r++) {
            float inv = (float) (1.0 / sum[r]);
            int dst = (b * lq + i0 + r) * c + h * d;
            for (int e = 0; e < d; e++) out[dst + e] = o[r * dPad + e] * inv;
        }
    }

    private static float rowMax(float[] s, int from, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j + L <= n; j += L) acc = acc.max(FloatVector.fromArray(S, s, from + j));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) m = Math.max(m, s[from + j]);
        return m;
    }

    /** s[j] = exp(s[j] − max) for j < n, 0 for n ≤ j < w; returns the sum. */
    private static float expRow(float[] s, int from, int n, int w, float max) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector e = Pointwise.exp(FloatVector.fromArray(S, s, from + j).sub(max));
            e.intoArray(s, from + j);
            acc = acc.add(e);
        }
        float sum = Pointwise.sumLanes(acc);
        for (; j < n; j++) {
            float e = (float) Math.exp(s[from + j] - max);
            s[from + j] = e;
            sum += e;
        }
        Arrays.fill(s, from + n, from + w, 0f);
        return sum;
    }

    private static void scaleRow(float[] o, int from, int n, float f) {
        for (int j = 0; j < n; j += L) FloatVector.fromArray(S, o, from + j).mul(f).intoArray(o, from + j);
    }
}
