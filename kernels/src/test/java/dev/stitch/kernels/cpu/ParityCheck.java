package dev.stitch.kernels.cpu;

import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Random inputs and the comparisons the CPU parity tests share. The seed is printed in every failure message. */
final class ParityCheck {
    private ParityCheck() {}

    /** Fresh each run; {@code -Dstitch.seed=N} replays a failure. */
    static final long SEED = Long.getLong("stitch.seed", System.nanoTime());

    /** Relative L2 error allowed for f32 kernels against the double-accumulating reference. */
    static final double TOL = 1e-5;

    static Random rng(String test) { return new Random(SEED ^ test.hashCode()); }

    /** Standard normal values times {@code scale} plus {@code offset}. */
    static Tensor randn(Random r, double scale, double offset, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * scale + offset);
        return Tensor.of(d, shape);
    }

    static Tensor randn(Random r, int... shape) { return randn(r, 1, 0, shape); }

    /** A random weight stored as little-endian {@code dtype} bytes off the heap, as a memory-mapped file would be. */
    static Tensor mappedWeight(Random r, DType dtype, double scale, int... shape) {
        long n = Tensor.count(shape);
        MemorySegment seg = Arena.ofAuto().allocate(n * dtype.bytes, 8);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            float v = (float) (r.nextGaussian() * scale);
            switch (dtype) {
                case F32 -> seg.setAtIndex(f32, i, v);
                case F16 -> seg.setAtIndex(i16, i, DType.f32ToF16(v));
                case BF16 -> seg.setAtIndex(i16, i, DType.f32ToBf16(v));
            }
        }
        return Tensor.mapped(seg, dtype, shape);
    }

    static double relL2(float[] expected, float[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        return Math.sqrt(num / Math.max(den, Double.MIN_NORMAL));
    }

    /** Same shape, every value finite, relative L2 error below {@link #TOL}. */
    static void assertClose(String what, Tensor expected, Tensor actual) { assertClose(what, expected, actual, TOL); }

    static void assertClose(String what, Tensor expected, Tensor actual, double tol) {
        String where = what + " (seed " + SEED + ")";
        assertArrayEquals(expected.shape(), actual.shape(), where + ": shape");
        float[] e = expected.data(), a = actual.data();
        for (int i = 0; i < a.length; i++)
            if (!Float.isFinite(a[i])) fail(where + ": non-finite value " + a[i] + " at " + i + " of " + Arrays.toString(actual.shape()));
        double energy = 0;
        for (float v : e) energy += (double) v * v;
        assertTrue(e.length == 0 || energy > 0, where + ": the reference output is all zeros, a useless test");
        double err = relL2(e, a);
        assertTrue(err < tol, where + ": relative L2 error " + err + " ≥ " + tol);
    }

    /** Bit-for-bit equal (layout ops move values, they do not compute). */
    static void assertIdentical(String what, Tensor expected, Tensor actual) {
        String where = what + " (seed " + SEED + ")";
        assertArrayEquals(expected.shape(), actual.shape(), where + ": shape");
        float[] a = actual.data();
        for (int i = 0; i < a.length; i++) if (Float.isNaN(a[i])) fail(where + ": NaN at " + i);
        assertArrayEquals(expected.data(), actual.data(), where);
    }
}
