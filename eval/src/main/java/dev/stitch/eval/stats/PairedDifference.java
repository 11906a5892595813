package dev.stitch.eval.stats;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The mean of paired differences (a setup's score minus the baseline's on the same prompt and seed) with a percentile
 * bootstrap interval: pairs are resampled whole, so what the prompt and seed share cancels out of the interval.
 *
 * @param n the number of pairs
 */
public record PairedDifference(double mean, double ciLow, double ciHigh, double confidence, int n) {

    /** 2000 resamples: the interval's ends then move by well under a tenth of its width between seeds. */
    public static final int RESAMPLES = 2000;

    /** {@code treated[i] − baseline[i]} for every pair, 95 % interval, {@link #RESAMPLES} resamples. */
    public static PairedDifference of(double[] treated, double[] baseline, long seed) {
        if (treated.length != baseline.length)
            throw new IllegalArgumentException(treated.length + " treated values for " + baseline.length + " baselines");
        double[] d = new double[treated.length];
        for (int i = 0; i < d.length; i++) d[i] = treated[i] - baseline[i];
        return bootstrap(d, 0.95, RESAMPLES, seed);
    }

    /** The mean of {@code d} and its percentile bootstrap interval; the same seed gives the same interval. */
    public static PairedDifference bootstrap(double[] d, double confidence, int resamples, long seed) {
        int n = d.length;
        if (n == 0) throw new IllegalArgumentException("no pairs");
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence " + confidence);
        for (double x : d) if (!Double.isFinite(x)) throw new IllegalArgumentException("non-finite difference " + x);
        double mean = mean(d);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int b = 0; b < resamples; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += d[rng.nextInt(n)];
            means[b] = s / n;
        }
        Arrays.sort(means);
        double alpha = (1 - confidence) / 2;
        return new PairedDifference(mean, quantile(means, alpha), quantile(means, 1 - alpha), confidence, n);
    }

    /** Whether the interval excludes 0: the setup changed the metric beyond what resampling explains. */
    public boolean significant() { return ciLow > 0 || ciHigh < 0; }

    static double mean(double[] d) {
        double s = 0;
        for (double x : d) s += x;
        return s / d.length;
    }

    /** Linear interpolation between order statistics (numpy's default "linear" method). */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
