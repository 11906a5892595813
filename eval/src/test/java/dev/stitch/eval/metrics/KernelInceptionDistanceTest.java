package dev.stitch.eval.metrics;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class KernelInceptionDistanceTest {
    /** The unbiased MMD² written out from its definition, with k(x, y) = (x·y/d + 1)³. */
    private static double byHand(float[][] x, float[][] y) {
        int m = x.length, d = x[0].length;
        double xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                if (i != j) {
                    xx += Math.pow(dot(x[i], x[j]) / d + 1, 3);
                    yy += Math.pow(dot(y[i], y[j]) / d + 1, 3);
                }
                xy += Math.pow(dot(x[i], y[j]) / d + 1, 3);
            }
        return (xx + yy) / (m * (m - 1.0)) - 2 * xy / ((double) m * m);
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private static float[][] gaussian(Random r, int n, int d, double shift) {
        float[][] x = new float[n][d];
        for (float[] row : x) for (int j = 0; j < d; j++) row[j] = (float) (r.nextGaussian() + shift);
        return x;
    }

    @Test
    void mmdMatchesTheDefinition() {
        float[][] x = {{1, 2, 0}, {0.5f, -1, 3}, {2, 2, 2}, {-1, 0, 1}, {0, 0.25f, -2}};
        float[][] y = {{1, 1, 1}, {3, -2, 0.5f}, {0, 1, 0}, {-2, -1, 4}, {1.5f, 0, 0}};
        double want = byHand(x, y);
        assertTrue(Math.abs(want) > 1e-3);
        assertEquals(want, KernelInceptionDistance.mmd2Unbiased(x, y), 1e-12 * Math.abs(want) + 1e-14);
        Random r = new Random(7);
        float[][] a = gaussian(r, 9, 17, 0), b = gaussian(r, 9, 17, 0.3);
        assertEquals(byHand(a, b), KernelInceptionDistance.mmd2Unbiased(a, b), 1e-10);
    }

    @Test
    void fullSizeSubsetsAllGiveTheFullValue() {
        Random r = new Random(8);
        float[][] x = gaussian(r, 8, 6, 0), y = gaussian(r, 8, 6, 0.5);
        Estimate kid = KernelInceptionDistance.compute(x, y, 7, 1000, 42);
        // every subset is a permutation of the whole set, and the estimate ignores order
        assertEquals(byHand(x, y), kid.mean(), 1e-10);
        assertEquals(0, kid.std(), 1e-10);
        assertEquals(7, kid.draws());
    }

    @Test
    void smallSubsetsAreUnbiasedForTheFullValue() {
        Random r = new Random(9);
        float[][] x = gaussian(r, 12, 4, 0), y = gaussian(r, 12, 4, 0.7);
        double full = byHand(x, y);
        int subsets = 20000;
        Estimate kid = KernelInceptionDistance.compute(x, y, subsets, 5, 1);
        // each subset's U-statistic has the full-set U-statistic as its expectation
        assertEquals(full, kid.mean(), 4 * kid.std() / Math.sqrt(subsets));
        assertTrue(kid.std() > 0);
    }

    @Test
    void seededAndSensitiveToAShift() {
        Random r = new Random(10);
        float[][] x = gaussian(r, 60, 8, 0), same = gaussian(r, 60, 8, 0), shifted = gaussian(r, 70, 8, 1.0);
        Estimate a = KernelInceptionDistance.compute(x, shifted, 20, 30, 5);
        assertEquals(a, KernelInceptionDistance.compute(x, shifted, 20, 30, 5), "same seed, same answer");
        assertNotEquals(a.mean(), KernelInceptionDistance.compute(x, shifted, 20, 30, 6).mean());
        Estimate b = KernelInceptionDistance.compute(x, same, 20, 30, 5);
        assertTrue(a.mean() > 10 * Math.abs(b.mean()), a + " vs " + b);
        // unequal set sizes: m = min(60, 70, 1000)
        Estimate c = KernelInceptionDistance.compute(x, shifted, 3, 1000, 5);
        assertTrue(Double.isFinite(c.mean()) && c.mean() > 0);
    }

    @Test
    void sampleDrawsDistinctIndices() {
        var rng = new java.util.SplittableRandom(3);
        int[] s = KernelInceptionDistance.sample(rng, 50, 20);
        assertEquals(20, java.util.Arrays.stream(s).distinct().count());
        assertTrue(java.util.Arrays.stream(s).allMatch(i -> i >= 0 && i < 50));
    }

    /**
     * The kernel in plain Java, in the order it promises: two accumulators of {@code step} lanes (fused multiply-adds),
     * added lane by lane, the lanes summed in lane order, then the tail.
     */
    static double kernelInOrder(double[] a, double[] b, int d) {
        int step = jdk.incubator.vector.DoubleVector.SPECIES_PREFERRED.length(), i = 0;
        double[] acc0 = new double[step], acc1 = new double[step];
        for (; i + 2 * step <= d; i += 2 * step)
            for (int l = 0; l < step; l++) {
                acc0[l] = Math.fma(a[i + l], b[i + l], acc0[l]);
                acc1[l] = Math.fma(a[i + step + l], b[i + step + l], acc1[l]);
            }
        double s = 0;
        for (int l = 0; l < step; l++) s += acc0[l] + acc1[l];
        for (; i < d; i++) s += a[i] * b[i];
        double k = s / d + 1;
        return k * k * k;
    }

    /** The first calls run interpreted, later ones compiled: both must give the bits of the fixed order. */
    @Test
    void theKernelGivesTheSameBitsInterpretedAndCompiled() {
        Random r = new Random(12);
        double[][] rows = new double[8][61];
        for (double[] row : rows) for (int j = 0; j < row.length; j++) row[j] = r.nextGaussian() * 3;
        for (int round = 0; round < 50_000; round++)
            for (int i = 0; i < rows.length; i++) {
                double[] a = rows[i], b = rows[(i + 1) % rows.length];
                double k = KernelInceptionDistance.kernel(a, b, 61), want = kernelInOrder(a, b, 61);
                if (Double.doubleToRawLongBits(k) != Double.doubleToRawLongBits(want))
                    fail("call " + round + ", row " + i + ": " + k + ", the fixed order gives " + want);
            }
    }
}
