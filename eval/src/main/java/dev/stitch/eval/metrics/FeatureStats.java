package dev.stitch.eval.metrics;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.UserError;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The Gaussian summary of a set of feature vectors that FID compares: the mean and the unbiased covariance
 * (divided by N−1, as numpy's {@code np.cov} and pytorch-fid), in float64.
 */
public record FeatureStats(double[] mean, double[][] cov, long count) {
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public FeatureStats {
        if (cov.length != mean.length) throw new IllegalArgumentException("cov is " + cov.length + " x ?, mean has " + mean.length);
        for (double[] row : cov) if (row.length != mean.length) throw new IllegalArgumentException("cov is not square");
    }

    public int dim() { return mean.length; }

    /** Statistics of the rows of an N×D matrix (N ≥ 2). */
    public static FeatureStats of(float[][] rows) {
        if (rows.length == 0) throw new IllegalArgumentException("no feature rows");
        Accumulator a = new Accumulator(rows[0].length);
        for (float[] r : rows) a.add(r);
        return a.stats();
    }

    /**
     * Streams rows into the sums of a covariance: around a shift (the first row), so that large means do not cancel
     * away the digits of small variances; rows are buffered in blocks so each covariance row is updated while it is
     * in cache.
     */
    public static final class Accumulator {
        private static final int BLOCK = 64;
        private final int d;
        private final double[] shift, sum;
        private final double[][] outer; // upper triangle of Σ (x−shift)(x−shift)ᵀ
        private final double[][] block;
        private int inBlock;
        private long n;

        public Accumulator(int dim) {
            d = dim;
            shift = new double[d];
            sum = new double[d];
            outer = new double[d][d];
            block = new double[BLOCK][d];
        }

        public void add(float[] row) {
            if (row.length != d) throw new IllegalArgumentException("feature row has " + row.length + " values, expected " + d);
            if (n == 0) for (int i = 0; i < d; i++) shift[i] = row[i];
            double[] b = block[inBlock++];
            for (int i = 0; i < d; i++) {
                if (!Float.isFinite(row[i])) throw new IllegalArgumentException("feature row " + n + " has a non-finite value");
                b[i] = row[i] - shift[i];
                sum[i] += b[i];
            }
            n++;
            if (inBlock == BLOCK) flush();
        }

        private void flush() {
            for (int i = 0; i < d; i++) {
                double[] o = outer[i];
                for (int r = 0; r < inBlock; r++) {
                    double[] b = block[r];
                    double bi = b[i];
                    for (int j = i; j < d; j++) o[j] += bi * b[j];
                }
            }
            inBlock = 0;
        }

        public long count() { return n; }

        public FeatureStats stats() {
            if (n < 2) throw new IllegalStateException("a covariance needs at least 2 feature rows, got " + n);
            flush();
            double[] mean = new double[d], m = new double[d];
            for (int i = 0; i < d; i++) {
                m[i] = sum[i] / n;
                mean[i] = shift[i] + m[i];
            }
            double[][] cov = new double[d][d];
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) cov[i][j] = cov[j][i] = (outer[i][j] - n * m[i] * m[j]) / (n - 1);
            return new FeatureStats(mean, cov, n);
        }
    }

    /** Adds {@code mean} [D] and {@code cov} [D,D] as F64 tensors. */
    public SafeTensorsWriter addTo(SafeTensorsWriter w) {
        int dd = dim();
        MemorySegment m = MemorySegment.ofArray(new byte[dd * 8]);
        for (int i = 0; i < dd; i++) m.setAtIndex(F64_LE, i, mean[i]);
        MemorySegment c = MemorySegment.ofArray(new byte[dd * dd * 8]);
        for (int i = 0; i < dd; i++)
            for (int j = 0; j < dd; j++) c.setAtIndex(F64_LE, (long) i * dd + j, cov[i][j]);
        return w.add("mean", SafeDType.F64, new long[] {dd}, m).add("cov", SafeDType.F64, new long[] {dd, dd}, c)
            .metadata("count", Long.toString(count));
    }

    /** Reads what {@link #addTo} wrote. */
    public static FeatureStats read(SafeTensors st) {
        var me = st.entry("mean");
        var ce = st.entry("cov");
        if (me.dtype() != SafeDType.F64 || ce.dtype() != SafeDType.F64 || me.shape().length != 1 || ce.shape().length != 2
            || ce.shape()[0] != me.shape()[0] || ce.shape()[1] != me.shape()[0])
            throw new UserError(st.file() + ": expected F64 'mean' [D] and 'cov' [D,D]");
        int dd = Math.toIntExact(me.shape()[0]);
        MemorySegment m = st.bytes("mean"), c = st.bytes("cov");
        double[] mean = new double[dd];
        double[][] cov = new double[dd][dd];
        for (int i = 0; i < dd; i++) {
            mean[i] = m.getAtIndex(F64_LE, i);
            for (int j = 0; j < dd; j++) cov[i][j] = c.getAtIndex(F64_LE, (long) i * dd + j);
        }
        String count = st.metadata().getOrDefault("count", "0");
        return new FeatureStats(mean, cov, Long.parseLong(count));
    }
}
