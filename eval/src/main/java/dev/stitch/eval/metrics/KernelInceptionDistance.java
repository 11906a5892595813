package dev.stitch.eval.metrics;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * KID (Bińkowski et al., 2018): the unbiased estimate of the squared maximum mean discrepancy between two feature
 * sets under the cubic polynomial kernel k(x, y) = (x·y/d + 1)³, averaged over random subsets; reported as mean and
 * standard deviation over the subsets, as torch-fidelity does (clean-fid reports the mean only).
 * <p>
 * Each subset draws m = min(subsetSize, |X|, |Y|) rows of X and m rows of Y without replacement (as clean-fid's
 * {@code min(len, max_subset_size)}); torch-fidelity instead refuses a set smaller than the subset size. The draws
 * come from one seeded generator, so a seed gives the same subsets, and the same answer, at any parallelism; they
 * are not numpy's draws, so values agree with those libraries in distribution, not digit for digit. Cost: 2m² kernel
 * evaluations of d multiply-adds per subset (about 4·10⁹ for m = 1000, d = 2048), split across cores.
 */
public final class KernelInceptionDistance {
    private KernelInceptionDistance() {}

    /** torch-fidelity's and clean-fid's defaults. */
    public static final int DEFAULT_SUBSETS = 100, DEFAULT_SUBSET_SIZE = 1000;

    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;

    public static Estimate compute(float[][] x, float[][] y, int subsets, int subsetSize, long seed) {
        if (x.length < 2 || y.length < 2) throw new IllegalArgumentException("KID needs at least 2 rows per set, got " + x.length + " and " + y.length);
        int d = x[0].length;
        if (y[0].length != d) throw new IllegalArgumentException("feature sizes differ: " + d + " vs " + y[0].length);
        if (subsets < 1 || subsetSize < 2) throw new IllegalArgumentException("subsets " + subsets + ", subset size " + subsetSize);
        int m = Math.min(subsetSize, Math.min(x.length, y.length));
        SplittableRandom rng = new SplittableRandom(seed);
        double[] mmd = new double[subsets];
        for (int s = 0; s < subsets; s++) {
            int[] ix = sample(rng, x.length, m), iy = sample(rng, y.length, m);
            mmd[s] = mmd2Unbiased(pick(x, ix, d), pick(y, iy, d));
        }
        return Estimate.of(mmd);
    }

    /**
     * The unbiased MMD² of two equally sized sets: the mean of k over distinct pairs within X and within Y, minus
     * twice the mean of k over all pairs between them (torch-fidelity's {@code mmd2(..., 'unbiased')}).
     */
    public static double mmd2Unbiased(float[][] x, float[][] y) {
        if (x.length == 0 || y.length != x.length) throw new IllegalArgumentException("sets of " + x.length + " and " + y.length + " rows");
        int d = x[0].length;
        return mmd2Unbiased(pick(x, null, d), pick(y, null, d));
    }

    /** The same on rows already widened to double; large sets are summed in parallel, row by row. */
    static double mmd2Unbiased(double[][] x, double[][] y) {
        int m = x.length, d = x[0].length;
        double[] xx = new double[m], yy = new double[m], xy = new double[m];
        IntStream rows = IntStream.range(0, m);
        (m >= 64 ? rows.parallel() : rows).forEach(i -> {
            double a = 0, b = 0, c = 0;
            for (int j = i + 1; j < m; j++) {
                a += kernel(x[i], x[j], d);
                b += kernel(y[i], y[j], d);
            }
            for (int j = 0; j < m; j++) c += kernel(x[i], y[j], d);
            xx[i] = a;
            yy[i] = b;
            xy[i] = c;
        });
        double sxx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < m; i++) {
            sxx += xx[i];
            syy += yy[i];
            sxy += xy[i];
        }
        return 2 * (sxx + syy) / ((double) m * (m - 1)) - 2 * sxy / ((double) m * m);
    }

    /** (a·b/d + 1)³: the hot loop of KID, a Vector API dot product in double. */
    static double kernel(double[] a, double[] b, int d) {
        DoubleVector acc0 = DoubleVector.zero(SPECIES), acc1 = DoubleVector.zero(SPECIES);
        int step = SPECIES.length(), i = 0;
        for (; i + 2 * step <= d; i += 2 * step) {
            acc0 = DoubleVector.fromArray(SPECIES, a, i).fma(DoubleVector.fromArray(SPECIES, b, i), acc0);
            acc1 = DoubleVector.fromArray(SPECIES, a, i + step).fma(DoubleVector.fromArray(SPECIES, b, i + step), acc1);
        }
        // lanes summed in lane order: reduceLanes' order is unspecified, and interpreted and compiled code round its
        // sum differently, so the same input would not always give the same KID
        DoubleVector acc = acc0.add(acc1);
        double s = 0;
        for (int l = 0; l < step; l++) s += acc.lane(l);
        for (; i < d; i++) s += a[i] * b[i];
        double k = s / d + 1;
        return k * k * k;
    }

    /** m distinct indices below n in random order (a partial Fisher–Yates shuffle). */
    static int[] sample(SplittableRandom rng, int n, int m) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        for (int i = 0; i < m; i++) {
            int j = i + rng.nextInt(n - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return java.util.Arrays.copyOf(all, m);
    }

    /** The chosen rows (all when {@code idx} is null), widened to double. */
    private static double[][] pick(float[][] rows, int[] idx, int d) {
        int n = idx == null ? rows.length : idx.length;
        double[][] out = new double[n][d];
        for (int i = 0; i < n; i++) {
            float[] r = rows[idx == null ? i : idx[i]];
            if (r.length != d) throw new IllegalArgumentException("feature rows have " + r.length + " and " + d + " values");
            for (int j = 0; j < d; j++) out[i][j] = r[j];
        }
        return out;
    }
}
