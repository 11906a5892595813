package dev.stitch.engine.random;

/**
 * The float log, sine and cosine that PyTorch's AVX2 {@code randn} kernel uses (Cephes polynomials, in the
 * {@code avx_mathfun} form), reproduced operation by operation so that {@link TorchGenerator} matches to the last bit.
 * They are not the C library's functions and differ from them by an ulp now and then.
 *
 * <p>PyTorch's build lets GCC contract a multiply followed by an add into one fused multiply-add; every
 * {@link Math#fma} below stands where that happens (the first multiply, in source order, whose only use is an add),
 * and every plain {@code a * b + c} is rounded twice there too. Without those fusions about 1 value in 100 differs.
 */
final class AvxMath {
    private static final float SQRT_HALF = 0.707106781186547524f;
    private static final float FOUR_OVER_PI = 1.27323954473516f;

    private AvxMath() {}

    /** Natural log for 0 < x (NaN for x <= 0). */
    static float log(float x) {
        if (!(x > 0f)) return Float.NaN;
        int bits = Float.floatToRawIntBits(Math.max(x, Float.MIN_NORMAL));
        float e = (float) ((bits >>> 23) - 0x7f) + 1f;
        float m = Float.intBitsToFloat((bits & ~0x7f800000) | 0x3f000000); // mantissa in [0.5, 1)
        boolean small = m < SQRT_HALF;
        if (small) e = e - 1f;
        float t = (m - 1f) + (small ? m : 0f);
        float z = t * t;
        float y = 7.0376836292E-2f;
        y = Math.fma(y, t, -1.1514610310E-1f);
        y = Math.fma(y, t, 1.1676998740E-1f);
        y = Math.fma(y, t, -1.2420140846E-1f);
        y = Math.fma(y, t, 1.4249322787E-1f);
        y = Math.fma(y, t, -1.6668057665E-1f);
        y = Math.fma(y, t, 2.0000714765E-1f);
        y = Math.fma(y, t, -2.4999993993E-1f);
        y = Math.fma(y, t, 3.3333331174E-1f);
        y = y * t;
        y = Math.fma(y, z, e * -2.12194440e-4f);
        y = y - z * 0.5f;
        return Math.fma(e, 0.693359375f, t + y);
    }

    /** Sine of 0 <= x < 8192. */
    static float sin(float x) { return sinOrCos(x, true); }

    /** Cosine of 0 <= x < 8192. */
    static float cos(float x) { return sinOrCos(x, false); }

    private static float sinOrCos(float x, boolean sine) {
        int j = ((int) (x * FOUR_OVER_PI) + 1) & ~1;  // octant, rounded up to even
        float y = j;
        // Extended-precision reduction: x - j * pi/4 in three parts.
        x = Math.fma(y, -0.78515625f, x);
        x = Math.fma(y, -2.4187564849853515625e-4f, x);
        x = Math.fma(y, -3.77489497744594108e-8f, x);
        float z = x * x;
        float c = Math.fma(2.443315711809948E-005f, z, -1.388731625493765E-003f);
        c = Math.fma(c, z, 4.166664568298827E-002f);
        c = c * z;
        c = Math.fma(c, z, -(z * 0.5f));
        c = c + 1f;
        float s = Math.fma(-1.9515295891E-4f, z, 8.3321608736E-3f);
        s = Math.fma(s, z, -1.6666654611E-1f);
        s = s * z;
        s = Math.fma(s, x, x);
        boolean sinPoly = (j & 2) == 0;
        if (sine) return (j & 4) != 0 ? -(sinPoly ? s : c) : (sinPoly ? s : c);
        return ((j - 2) & 4) == 0 ? -(sinPoly ? c : s) : (sinPoly ? c : s);
    }
}
