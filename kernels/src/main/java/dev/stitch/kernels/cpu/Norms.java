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

    /**
     * Σ(x − shift) and Σ(x − shift)² over [from, from + n). With the shift an f32 rounding of the mean, the first sum
     * is the part of the mean that the shift missed, measured on the differences themselves, which f32 holds exactly
     * where x is close to the shift (Sterbenz): the statistics then stay accurate where values nearly cancel, as in a
     * 2-feature layer norm.
     */
    static double[] deviations(float[] x, int from, int n, float shift) {
        double s1 = 0, s2 = 0;
        for (int b = 0; b < n; b += BLOCK) {
            int end = from + Math.min(n, b + BLOCK);
            FloatVector acc1 = FloatVector.zero(S), acc2 = FloatVector.zero(S);
            int i = from + b;
            for (; i + L <= end; i += L) {
                FloatVector d = FloatVector.fromArray(S, x, i).sub(shift);
                acc1 = acc1.add(d);
                acc2 = d.fma(d, acc2);
            }
            float t1 = 0, t2 = 0;
            for (; i < end; i++) { float d = x[i] - shift; t1 += d; t2 += d * d; }
            s1 += (double) Pointwise.sumLanes(acc1) + t1;
            s2 += (double) Pointwise.sumLanes(acc2) + t2;
        }
        return new double[] {s1, s2};
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
        float meanF = (float) (sum(x, base, len) / len);
        double[] dev = deviations(x, base, len, meanF);
        double dm = dev[0] / len; // mean − meanF: what f32 could not hold, taken out of the variance and the shift
        double var = Math.max(0, dev[1] / len - dm * dm);
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
            float meanF = (float) (sum(x, o, c) / c);
            double[] dev = deviations(x, o, c, meanF);
            double dm = dev[0] / c;
            double var = Math.max(0, dev[1] / c - dm * dm);
            float inv = (float) (1.0 / Math.sqrt(var + eps)), dmInv = (float) (dm / Math.sqrt(var + eps));
            for (int i = 0; i < c; i += L) {
                VectorMask<Float> m = S.indexInRange(i, c);
                FloatVector v = FloatVector.fromArray(S, x, o + i, m).sub(meanF).mul(inv).sub(dmInv);
                v.fma(FloatVector.fromArray(S, gamma, i, m), FloatVector.fromArray(S, beta, i, m)).intoArray(out, o + i, m);
            }
        }
    }
}
