package dev.stitch.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Group norm and layer norm. Statistics are two-pass (mean, then the mean of squared deviations), summed in f32
 * vector lanes over short blocks and in double across blocks, so that a 40 000-value group is as exact as the oracle.
 */
final class Norms {
    private Norms() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int L = S.length();
    /** Values summed in f32 lanes before the partial sum moves to double. */
    private static final int BLOCK = 32 * L;

    static double sum(float[] x, int from, int n) {
        double total = 0;
        for (int b = 0; b < n; b += BLOCK) {
            int end = from + Math.min(n, b + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = from + b;
            for (; i + L <= end; i += L) acc = acc.add(FloatVector.fromArray(S, x, i));
            float tail = 0;
            for (; i < end; i++) tail += x[i];
            total += (double) Pointwise.sumLanes(acc) + tail;
        }
        return total;
    }

    static double sumSquaredDeviations(float[] x, int from, int n, float mean) {
        double total = 0;
        for (int b = 0; b < n; b += BLOCK) {
            int end = from + Math.min(n, b + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = from + b;
            for (; i + L <= end; i += L) {
                FloatVector d = FloatVector.fromArray(S, x, i).sub(mean);
                acc = d.fma(d, acc);
            }
            float tail = 0;
            for (; i < end; i++) { float d = x[i] - mean; tail += d * d; }
            total += (double) Pointwise.sumLanes(acc) + tail;
        }
        return total;
    }

    /** out = (x − mean)·s + t (then SiLU) over [from, from + n). */
    static void normalize(float[] x, float[] out, int from, int n, float mean, float s, float t, boolean silu) {
        int i = from, end = from + n;
        for (; i < end; i += L) {
            VectorMask<Float> m = S.indexInRange(i, end);
            FloatVector v = FloatVector.fromArray(S, x, i, m).sub(mean).fma(s, t);
            if (silu) v = Pointwise.silu(v);
            v.intoArray(out, i, m);
        }
    }

    /** One (batch row, group) of a group norm over [B, C, spatial]. */
    static void groupNorm(float[] x, float[] out, int c, int groups, int spatial, float[] gamma, float[] beta,
                          float eps, boolean silu, int task) {
        int n = task / groups, g = task % groups, cg = c / groups, len = cg * spatial;
        int base = (n * c + g * cg) * spatial;
        double mean = sum(x, base, len) / len;
        float meanF = (float) mean;
        double var = sumSquaredDeviations(x, base, len, meanF) / len;
        double dm = mean - meanF; // the rounding of the mean, taken back out of the variance
        var = Math.max(0, var - dm * dm);
        double inv = 1.0 / Math.sqrt(var + eps);
        for (int ch = 0; ch < cg; ch++) {
            int cc = g * cg + ch;
            float t = (float) (beta[cc] - dm * inv * gamma[cc]); // dm: the part of the mean that f32 could not hold
            normalize(x, out, base + ch * spatial, spatial, meanF, (float) (inv * gamma[cc]), t, silu);
        }
    }

    /** Rows [from, to) of a layer norm over the last dimension c. */
    static void layerNorm(float[] x, float[] out, int c, float[] gamma, float[] beta, float eps, int from, int to) {
        for (int r = from; r < to; r++) {
            int o = r * c;
            double mean = sum(x, o, c) / c;
            float meanF = (float) mean;
            double dm = mean - meanF;
            double var = Math.max(0, sumSquaredDeviations(x, o, c, meanF) / c - dm * dm);
            float inv = (float) (1.0 / Math.sqrt(var + eps)), dmInv = (float) (dm / Math.sqrt(var + eps));
            for (int i = 0; i < c; i += L) {
                VectorMask<Float> m = S.indexInRange(i, c);
                FloatVector v = FloatVector.fromArray(S, x, o + i, m).sub(meanF).mul(inv).sub(dmInv);
                v.fma(FloatVector.fromArray(S, gamma, i, m), FloatVector.fromArray(S, beta, i, m)).intoArray(out, o + i, m);
            }
        }
    }
}
