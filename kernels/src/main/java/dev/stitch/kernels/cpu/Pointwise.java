package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised activation functions and elementwise loops. */
final class Pointwise {
    private Pointwise() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int L = S.length();
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));

    static FloatVector apply(Activation act, FloatVector v) {
        return switch (act) {
            case NONE -> v;
            case SILU -> silu(v);
            case GELU -> gelu(v);
            case RELU -> v.max(0f);   // lanewise MAX keeps NaN, as Math.max
        };
    }

    static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }

    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;   // 1.5·2²³: adding and subtracting it rounds to an integer

    /**
     * e^x per lane from adds, multiplies, fma and bit operations only, so it is bit-identical in the interpreter and
     * in compiled code. (The Vector API's lanewise EXP is not: its compiled stub rounds differently from its Java
     * fallback, so results changed as the JIT warmed up and the same run could not be repeated bit for bit.)
     * Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, Cephes' degree-6 polynomial for e^r (about 1 ulp), and 2ⁿ
     * applied as two halves so that subnormal results come out right; +∞ above 88.72, 0 far below −87.3, NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-104f).min(89f);
        FloatVector n = x.fma(LOG2E, ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector y = p.mul(r).fma(r, r).add(1f);
        IntVector k = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1), k2 = k.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /** The sum of the lanes in a fixed order (reduceLanes(ADD) leaves the order open, and compiled code uses another). */
    static float sumLanes(FloatVector v) {
        float s = 0f;
        for (float e : v.toArray()) s += e;
        return s;
    }

    /**
     * erfc(z) for z ≥ 0 with relative error below 1.2e-7 (the Chebyshev fit of Numerical Recipes' {@code erfcc}):
     * relative accuracy in the tail is what keeps GELU of large negative inputs right.
     */
    static FloatVector erfc(FloatVector z) {
        FloatVector t = z.mul(0.5f).add(1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector poly = t.mul(0.17087277f).add(-0.82215223f);
        poly = poly.fma(t, FloatVector.broadcast(S, 1.48851587f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.13520398f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.27886807f));
        poly = poly.fma(t, FloatVector.broadcast(S, -0.18628806f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.09678418f));
        poly = poly.fma(t, FloatVector.broadcast(S, 0.37409196f));
        poly = poly.fma(t, FloatVector.broadcast(S, 1.00002368f));
        poly = poly.fma(t, FloatVector.broadcast(S, -1.26551223f));
        FloatVector e = exp(z.mul(z).neg().add(poly));
        return t.mul(e);
    }

    /** Exact GELU x·Φ(x), with Φ(x) = ½·erfc(−x/√2) computed on the tail side so that no 1 − (1 − ε) loses ε. */
    static FloatVector gelu(FloatVector x) {
        FloatVector h = erfc(x.abs().mul(INV_SQRT2)).mul(0.5f); // Φ(−|x|)
        VectorMask<Float> pos = x.compare(VectorOperators.GE, 0f);
        FloatVector phi = h.blend(h.neg().add(1f), pos);
        return x.mul(phi);
    }

    // ---- loops over arrays (each call covers [from, to) so that callers can split the work) -------------------

    static void act(Activation act, float[] x, float[] out, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) apply(act, FloatVector.fromArray(S, x, i)).intoArray(out, i);
        if (i < to) {
            VectorMask<Float> m = S.indexInRange(i, to);
            apply(act, FloatVector.fromArray(S, x, i, m)).intoArray(out, i, m);
        }
    }

    /** out[r·c + i] = x[r·2c + i] · gelu(x[r·2c + c + i]) for rows [from, to). */
    static void geglu(float[] x, float[] out, int c, int from, int to) {
        for (int r = from; r < to; r++) {
            int xo = r * 2 * c, go = xo + c, oo = r * c;
            for (int i = 0; i < c; i += L) {
                VectorMask<Float> m = S.indexInRange(i, c);
                FloatVector v = FloatVector.fromArray(S, x, xo + i, m), g = FloatVector.fromArray(S, x, go + i, m);
                v.mul(gelu(g)).intoArray(out, oo + i, m);
            }
        }
    }

    static void add(float[] a, float[] b, float[] out, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i)).intoArray(out, i);
        for (; i < to; i++) out[i] = a[i] + b[i];
    }

    static void mul(float[] a, float[] b, float[] out, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) FloatVector.fromArray(S, a, i).mul(FloatVector.fromArray(S, b, i)).intoArray(out, i);
        for (; i < to; i++) out[i] = a[i] * b[i];
    }

    static void scale(float[] a, float s, float[] out, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) FloatVector.fromArray(S, a, i).mul(s).intoArray(out, i);
        for (; i < to; i++) out[i] = a[i] * s;
    }

    /** out = x + v over one plane of {@code n} values. */
    static void addScalar(float[] x, float v, float[] out, int from, int n) {
        int i = from, to = from + n;
        for (; i + L <= to; i += L) FloatVector.fromArray(S, x, i).add(v).intoArray(out, i);
        for (; i < to; i++) out[i] = x[i] + v;
    }
}
