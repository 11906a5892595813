package dev.stitch.eval.stats;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

/**
 * Spearman's ρ (Pearson's correlation of the ranks, ties given their average rank) with a confidence interval from
 * Fisher's z with Bonett and Wright's (2000) standard error √((1 + ρ²/2) / (n − 3)), which holds for rank correlations
 * where the plain 1/√(n − 3) is too narrow. Used for "does a tap's layer score predict the effect of steering there".
 *
 * @param ciLow  NaN when n &lt; 4 (no interval can be given)
 */
public record RankCorrelation(double rho, double ciLow, double ciHigh, double confidence, int n) {

    public static RankCorrelation spearman(double[] x, double[] y, double confidence) {
        if (x.length != y.length) throw new IllegalArgumentException(x.length + " x values for " + y.length + " y values");
        int n = x.length;
        if (n < 2) throw new IllegalArgumentException("a rank correlation needs at least 2 points, got " + n);
        for (int i = 0; i < n; i++)
            if (!Double.isFinite(x[i]) || !Double.isFinite(y[i])) throw new IllegalArgumentException("non-finite value at " + i);
        double rho = new SpearmansCorrelation().correlation(x, y);
        if (n < 4 || Double.isNaN(rho) || Math.abs(rho) == 1) {
            double end = n < 4 || Double.isNaN(rho) ? Double.NaN : rho;
            return new RankCorrelation(rho, end, end, confidence, n);
        }
        double z = 0.5 * Math.log((1 + rho) / (1 - rho));
        double se = Math.sqrt((1 + rho * rho / 2) / (n - 3));
        double q = new NormalDistribution().inverseCumulativeProbability(1 - (1 - confidence) / 2);
        return new RankCorrelation(rho, Math.tanh(z - q * se), Math.tanh(z + q * se), confidence, n);
    }
}
