package dev.stitch.engine.random;

/**
 * PyTorch's CPU random generator, bit for bit: {@code torch.Generator().manual_seed(seed)} followed by any sequence of
 * {@code torch.randn(shape, generator=g)} and {@code torch.rand(shape, generator=g)} calls in float32 gives the same
 * numbers here (checked against PyTorch 1.13 on x86-64, whose AVX2 kernels fix the float rounding).
 *
 * <p>The engine is a 32-bit Mersenne Twister. A uniform float is the low 24 bits of one draw over 2^24. {@code randn}
 * has two paths, as in ATen's {@code normal_kernel}:
 * <ul>
 * <li>16 values or more: all uniforms are drawn first, then Box-Muller turns each block of 16 into normals, pairing
 *     element j with j+8 (cosine to j, sine to j+8). When the count is not a multiple of 16 the last 16 uniforms are
 *     drawn again and the last (overlapping) block is recomputed. The float log/sin/cos are those of the AVX2 kernel
 *     ({@link AvxMath}), not the C library's, so that the last bit matches.</li>
 * <li>fewer than 16 values: one double-precision Box-Muller pair per two values, from 53-bit uniforms made of two
 *     draws; the second value of a pair is kept in the generator for the next value, even across calls, and a
 *     {@link #manualSeed} clears it.</li>
 * </ul>
 */
public final class TorchGenerator implements NoiseSource {
    private static final int N = 624, M = 397;
    private static final float TWO_PI = (float) (2.0 * Math.PI);

    private final int[] state = new int[N];
    private int next;
    private double cachedNormal;
    private boolean hasCachedNormal;

    public TorchGenerator(long seed) { manualSeed(seed); }

    /** Re-seeds as {@code torch.Generator.manual_seed(seed)}: only the low 32 bits of the seed count. */
    public TorchGenerator manualSeed(long seed) {
        state[0] = (int) seed;
        for (int j = 1; j < N; j++) state[j] = 1812433253 * (state[j - 1] ^ (state[j - 1] >>> 30)) + j;
        next = N;
        hasCachedNormal = false;
        return this;
    }

    /** The next raw 32-bit output of the Mersenne Twister (as an int holding the unsigned bits). */
    public int nextInt32() {
        if (next == N) twist();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int k = 0; k < N; k++) {
            int y = (state[k] & 0x80000000) | (state[(k + 1) % N] & 0x7fffffff);
            state[k] = state[(k + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
        }
        next = 0;
    }

    /** A float uniform in [0, 1): the low 24 bits of one draw. */
    private float uniformFloat() { return (nextInt32() & 0xffffff) * 0x1p-24f; }

    /** A double uniform in [0, 1): the low 53 bits of two draws, the first one high. */
    private double uniformDouble() {
        long hi = nextInt32() & 0xffffffffL, lo = nextInt32() & 0xffffffffL;
        return ((hi << 32 | lo) & ((1L << 53) - 1)) * 0x1p-53;
    }

    /** {@code torch.rand(n)} in float32: uniform in [0, 1). */
    public float[] rand(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = uniformFloat();
        return out;
    }

    /** {@code torch.randn(n)} in float32 (any shape with n elements, row-major). */
    @Override
    public float[] randn(int n) {
        float[] out = new float[n];
        if (n >= 16) {
            for (int i = 0; i < n; i++) out[i] = uniformFloat();
            for (int i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
            if (n % 16 != 0) {
                for (int i = n - 16; i < n; i++) out[i] = uniformFloat();
                boxMuller16(out, n - 16);
            }
        } else {
            for (int i = 0; i < n; i++) out[i] = (float) scalarNormal();
        }
        return out;
    }

    private static void boxMuller16(float[] d, int at) {
        for (int j = at; j < at + 8; j++) {
            float u1 = 1f - d[j];             // [0, 1) -> (0, 1] for the log
            float radius = (float) Math.sqrt(-2f * AvxMath.log(u1));
            float theta = TWO_PI * d[j + 8];
            // torch ends with fma(n, std, mean) = n * 1 + 0, which turns a -0 into +0
            d[j] = radius * AvxMath.cos(theta) + 0f;
            d[j + 8] = radius * AvxMath.sin(theta) + 0f;
        }
    }

    private double scalarNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = uniformDouble(), u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * Math.sin(theta);
        hasCachedNormal = true;
        return r * Math.cos(theta);
    }
}
