package dev.stitch.eval.metrics;

import org.apache.commons.math3.distribution.NormalDistribution;

/** k of n, with a confidence interval [low, high] for the underlying rate. */
public record Proportion(long k, long n, double low, double high, double confidence) {
    public double share() { return (double) k / n; }

    /**
     * The Wilson score interval: the rates p for which |k/n − p| ≤ z·√(p(1−p)/n). Unlike the normal approximation
     * it stays inside [0, 1] and is sensible at 0 of n and n of n.
     */
    public static Proportion wilson(long k, long n, double confidence) {
        if (n <= 0 || k < 0 || k > n) throw new IllegalArgumentException(k + " of " + n);
        double z = z(confidence), p = (double) k / n, z2n = z * z / n;
        double centre = (p + z2n / 2) / (1 + z2n);
        double half = z / (1 + z2n) * Math.sqrt(p * (1 - p) / n + z2n / (4 * n));
        // at 0 of n (n of n) the lower (upper) end is exactly the estimate; rounding must not push it past
        return new Proportion(k, n, k == 0 ? 0 : centre - half, k == n ? 1 : centre + half, confidence);
    }

    /** The two-sided normal quantile for {@code confidence} (1.95996… for 0.95). */
    static double z(double confidence) {
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence " + confidence);
        return new NormalDistribution().inverseCumulativeProbability(1 - (1 - confidence) / 2);
    }
}
