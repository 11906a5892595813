package dev.stitch.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The ops along one axis (captures' means, projections, steering edits) over x seen as [outer, n, inner]: position
 * (o, i) has the vector x[o, 0..n, i]. With inner = 1 (a token's channels in [B, L, C]) the vectors are contiguous and
 * the lanes run along them; otherwise (a position's channels in [B, C, H·W]) the lanes run over L positions at once
 * and each lane walks its vector. Every sum has a fixed order, so results repeat run to run. Each loop covers outer
 * indices [from, to).
 */
final class Along {
    private Along() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int L = S.length();
    /** Vectors summed in f32 before the partial sum moves to double (the mean over thousands of positions). */
    private static final int BLOCK = 32;

    static void mean(float[] x, float[] out, int n, int inner, int from, int to) {
        if (inner == 1) {
            for (int o = from; o < to; o++) out[o] = (float) (Norms.sum(x, o * n, n) / n);
            return;
        }
        double[] acc = new double[inner];
        float[] block = new float[inner];
        for (int o = from; o < to; o++) {
            Arrays.fill(acc, 0);
            for (int k0 = 0; k0 < n; k0 += BLOCK) {
                Arrays.fill(block, 0f);
                for (int k = k0; k < Math.min(n, k0 + BLOCK); k++) {
                    int row = (o * n + k) * inner;
                    for (int i = 0; i < inner; i += L) {
                        VectorMask<Float> m = S.indexInRange(i, inner);
                        FloatVector.fromArray(S, block, i, m).add(FloatVector.fromArray(S, x, row + i, m)).intoArray(block, i, m);
                    }
                }
                for (int i = 0; i < inner; i++) acc[i] += block[i];
            }
            for (int i = 0; i < inner; i++) out[o * inner + i] = (float) (acc[i] / n);
        }
    }

    static void project(float[] x, float[] u, float[] out, int n, int inner, int from, int to) {
        if (inner == 1) {
            for (int o = from; o < to; o++) out[o] = dot(x, o * n, u, 0, n);
            return;
        }
        // as the mean: BLOCK terms in f32, then into a double sum, so that a long, cancelling sum keeps f32 accuracy
        double[] acc = new double[L];
        for (int o = from; o < to; o++) {
            for (int i = 0; i < inner; i += L) {
                VectorMask<Float> m = S.indexInRange(i, inner);
                Arrays.fill(acc, 0);
                for (int k0 = 0; k0 < n; k0 += BLOCK) {
                    FloatVector p = FloatVector.zero(S);
                    for (int k = k0; k < Math.min(n, k0 + BLOCK); k++)
                        p = FloatVector.fromArray(S, x, (o * n + k) * inner + i, m).fma(FloatVector.broadcast(S, u[k]), p);
                    for (int l = 0; l < L; l++) acc[l] += p.lane(l);
                }
                for (int l = 0; l < L && i + l < inner; l++) out[o * inner + i + l] = (float) acc[l];
            }
        }
    }

    /** The rows' selection per outer index: row r covers outer indices [r·perRow, (r+1)·perRow). */
    static boolean[] selected(int[] rows, int batch) {
        boolean[] sel = new boolean[batch];
        for (int r : rows) sel[r] = true;
        return sel;
    }

    /** Copies the vectors of outer index o (size values) unchanged when its batch row is not chosen; true if it did. */
    private static boolean copiedUnchosen(float[] x, float[] out, int o, int size, boolean chosen) {
        if (!chosen) System.arraycopy(x, o * size, out, o * size, size);
        return !chosen;
    }

    /** The coefficient of u: a·g(p) + b, or b alone when a = 0 (Math.max keeps NaN, as the reference). */
    private static float coefficient(float p, float a, float b, boolean gate) {
        return a == 0 ? b : a * (gate ? Math.max(0f, p) : p) + b;
    }

    static void addDirection(float[] x, float[] u, float[] out, int n, int inner, int perRow, boolean[] sel, float a,
                             float b, boolean gate, boolean keepNorm, int from, int to) {
        for (int o = from; o < to; o++) {
            if (copiedUnchosen(x, out, o, n * inner, sel[o / perRow])) continue;
            int base = o * n * inner;
            if (inner == 1) {
                float before = keepNorm ? dot(x, base, x, base, n) : 0;
                float coef = coefficient(a == 0 ? 0 : dot(x, base, u, 0, n), a, b, gate);
                int k = 0;
                for (; k + L <= n; k += L)
                    FloatVector.fromArray(S, u, k).fma(FloatVector.broadcast(S, coef), FloatVector.fromArray(S, x, base + k)).intoArray(out, base + k);
                for (; k < n; k++) out[base + k] = Math.fma(u[k], coef, x[base + k]);
                if (keepNorm) rescale(out, base, n, before);
                continue;
            }
            for (int i = 0; i < inner; i += L) {
                VectorMask<Float> m = S.indexInRange(i, inner);
                FloatVector p = FloatVector.zero(S), before = FloatVector.zero(S);
                for (int k = 0; k < n; k++) {
                    FloatVector v = FloatVector.fromArray(S, x, base + k * inner + i, m);
                    p = v.fma(FloatVector.broadcast(S, u[k]), p);
                    before = v.fma(v, before);
                }
                FloatVector coef = a == 0 ? FloatVector.broadcast(S, b) : (gate ? p.max(0f) : p).fma(FloatVector.broadcast(S, a), FloatVector.broadcast(S, b));
                FloatVector after = FloatVector.zero(S);
                for (int k = 0; k < n; k++) {
                    FloatVector y = coef.fma(FloatVector.broadcast(S, u[k]), FloatVector.fromArray(S, x, base + k * inner + i, m));
                    y.intoArray(out, base + k * inner + i, m);
                    after = y.fma(y, after);
                }
                if (keepNorm) rescale(out, base, n, inner, i, m, before, after);
            }
        }
    }

    static void transport(float[] x, float[] omega, float[] beta, float[] lo, float[] hi, float lambda, float[] out,
                          int n, int inner, int perRow, boolean[] sel, boolean keepNorm, int from, int to) {
        for (int o = from; o < to; o++) {
            if (copiedUnchosen(x, out, o, n * inner, sel[o / perRow])) continue;
            int base = o * n * inner;
            if (inner == 1) {
                float before = keepNorm ? dot(x, base, x, base, n) : 0;
                for (int k = 0; k < n; k += L) {
                    VectorMask<Float> m = S.indexInRange(k, n);
                    FloatVector v = FloatVector.fromArray(S, x, base + k, m);
                    transport(v, FloatVector.fromArray(S, omega, k, m), FloatVector.fromArray(S, beta, k, m),
                        FloatVector.fromArray(S, lo, k, m), FloatVector.fromArray(S, hi, k, m), lambda).intoArray(out, base + k, m);
                }
                if (keepNorm) rescale(out, base, n, before);
                continue;
            }
            for (int i = 0; i < inner; i += L) {
                VectorMask<Float> m = S.indexInRange(i, inner);
                FloatVector before = FloatVector.zero(S), after = FloatVector.zero(S);
                for (int k = 0; k < n; k++) {
                    FloatVector v = FloatVector.fromArray(S, x, base + k * inner + i, m);
                    before = v.fma(v, before);
                    FloatVector y = transport(v, FloatVector.broadcast(S, omega[k]), FloatVector.broadcast(S, beta[k]),
                        FloatVector.broadcast(S, lo[k]), FloatVector.broadcast(S, hi[k]), lambda);
                    y.intoArray(out, base + k * inner + i, m);
                    after = y.fma(y, after);
                }
                if (keepNorm) rescale(out, base, n, inner, i, m, before, after);
            }
        }
    }

    /** (1−λ)x + λ(ωx + β) inside [lo, hi], x outside (NaN is never outside, as in the reference). */
    private static FloatVector transport(FloatVector x, FloatVector omega, FloatVector beta, FloatVector lo, FloatVector hi, float lambda) {
        VectorMask<Float> outside = x.compare(VectorOperators.LT, lo).or(x.compare(VectorOperators.GT, hi));
        FloatVector edited = x.mul(1 - lambda).add(omega.mul(x).add(beta).mul(lambda));
        return edited.blend(x, outside);
    }

    /** Σ a[from + k]·b[bFrom + k] over k < n: f32 lanes in blocks, double across blocks. */
    private static float dot(float[] a, int from, float[] b, int bFrom, int n) {
        double total = 0;
        for (int k0 = 0; k0 < n; k0 += BLOCK * L) {
            int end = Math.min(n, k0 + BLOCK * L), k = k0;
            FloatVector acc = FloatVector.zero(S);
            for (; k + L <= end; k += L) acc = FloatVector.fromArray(S, a, from + k).fma(FloatVector.fromArray(S, b, bFrom + k), acc);
            float tail = 0;
            for (; k < end; k++) tail += a[from + k] * b[bFrom + k];
            total += (double) Pointwise.sumLanes(acc) + tail;
        }
        return (float) total;
    }

    /** Scales the contiguous vector out[base..base+n) back to the length sqrt(before), unless it is zero. */
    private static void rescale(float[] out, int base, int n, float before) {
        float after = dot(out, base, out, base, n);
        if (!(after > 0)) return;
        float f = (float) (Math.sqrt(before) / Math.sqrt(after));
        Pointwise.scale(out, f, out, base, base + n);
    }

    /** The same for the L strided vectors at positions i.. (lanes of m): each lane by its own factor. */
    private static void rescale(float[] out, int base, int n, int inner, int i, VectorMask<Float> m, FloatVector before, FloatVector after) {
        VectorMask<Float> positive = after.compare(VectorOperators.GT, 0f);
        FloatVector f = before.sqrt().div(after.sqrt()).blend(FloatVector.broadcast(S, 1f), positive.not());
        for (int k = 0; k < n; k++)
            FloatVector.fromArray(S, out, base + k * inner + i, m).mul(f).intoArray(out, base + k * inner + i, m);
    }
}
