package dev.stitch.engine.schedulers;

/**
 * {@code torch.exp} and {@code torch.log} on float32 CPU tensors as PyTorch's AVX2 kernels compute them: SLEEF's
 * 1-ulp {@code expf}/{@code logf} (with fused multiply-adds), not correctly rounded. DPM-Solver's step coefficients
 * go through them, and a 1-ulp difference in {@code exp(-h)} becomes several ulps after {@code exp(-h) - 1}; these
 * keep the coefficients bit-identical to diffusers' (checked against PyTorch 1.13 on 250 000 arguments).
 */
final class TorchMath {
    private TorchMath() {}

    static float exp(float d) {
        if (d < -104f) return 0f;
        if (d > 100f) return Float.POSITIVE_INFINITY;
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
        float s = Math.fma(q, -0.693145751953125f, d);   // d - q ln2, ln2 in two parts
        s = Math.fma(q, -1.428606765330187045e-06f, s);
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1f + Math.fma(s * s, u, s);
        int h = q >> 1;  // 2^q in two factors, so that neither overflows
        return u * Float.intBitsToFloat((h + 127) << 23) * Float.intBitsToFloat((q - h + 127) << 23);
    }

    static float log(float d) {
        if (Float.isNaN(d) || d < 0f) return Float.NaN;
        if (d == 0f) return Float.NEGATIVE_INFINITY;
        if (d == Float.POSITIVE_INFINITY) return d;
        boolean tiny = d < Float.MIN_NORMAL;
        if (tiny) d = d * (4294967296f * 4294967296f);
        int e = ((Float.floatToRawIntBits(d * (1f / 0.75f)) >> 23) & 0xff) - 0x7f;
        float m = Float.intBitsToFloat(Float.floatToRawIntBits(d) - (e << 23));  // d / 2^e, in [0.75, 1.5)
        if (tiny) e -= 64;
        // Double-float arithmetic: each quantity is a pair (hi, lo) with an exact sum.
        float fe = e;
        float sHi = 0.69314718246459960938f * fe;  // e * ln2
        float sLo = Math.fma(-1.904654323148236017e-09f, fe, Math.fma(0.69314718246459960938f, fe, -sHi));
        float nHi = m - 1f, nV = nHi + 1f, nLo = (-1f - (nHi - nV)) + (m - nV);  // m - 1
        float dHi = m + 1f, dV = dHi - 1f, dLo = (1f - (dHi - dV)) + (m - dV);   // m + 1
        float r = 1f / dHi;                                                      // x = (m - 1) / (m + 1)
        float xHi = nHi * r;
        float v = Math.fma(-dLo, r, Math.fma(-dHi, r, 1f));
        float xLo = Math.fma(xHi, v, Math.fma(nLo, r, Math.fma(r, nHi, -xHi)));
        float x2 = xHi * xHi;
        float t = Math.fma(Math.fma(0.3027294874f, x2, 0.3996108174f), x2, 0.6666694880f);
        float aHi = xHi * 2f, aLo = xLo * 2f;                                    // log m = 2x + x^3 t
        float s2Hi = sHi + aHi, s2Lo = (((sHi - s2Hi) + aHi) + sLo) + aLo;
        float w = (x2 * xHi) * t;
        float s3Hi = s2Hi + w, s3Lo = ((s2Hi - s3Hi) + w) + s2Lo;
        return s3Hi + s3Lo;
    }
}
