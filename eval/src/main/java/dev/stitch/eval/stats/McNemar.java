package dev.stitch.eval.stats;

import org.apache.commons.math3.distribution.BinomialDistribution;

/**
 * McNemar's exact test for paired yes/no outcomes (a judge's verdict on the baseline image and on the steered image of
 * the same prompt and seed). Only discordant pairs carry information: {@code yesToNo} pairs the setup turned from yes
 * to no, {@code noToYes} the reverse. Under "no effect" each discordant pair goes either way with probability ½, so the
 * two-sided p-value is twice the smaller binomial tail (capped at 1).
 */
public record McNemar(int yesToNo, int noToYes, int concordant, double pValue) {

    public static McNemar of(boolean[] baseline, boolean[] treated) {
        if (baseline.length != treated.length)
            throw new IllegalArgumentException(treated.length + " treated outcomes for " + baseline.length + " baselines");
        int b = 0, c = 0;
        for (int i = 0; i < baseline.length; i++) {
            if (baseline[i] && !treated[i]) b++;
            else if (!baseline[i] && treated[i]) c++;
        }
        return of(b, c, baseline.length - b - c);
    }

    public static McNemar of(int yesToNo, int noToYes, int concordant) {
        if (yesToNo < 0 || noToYes < 0 || concordant < 0) throw new IllegalArgumentException("negative count");
        int n = yesToNo + noToYes;
        double p = n == 0 ? 1 : Math.min(1, 2 * new BinomialDistribution(null, n, 0.5)
            .cumulativeProbability(Math.min(yesToNo, noToYes)));
        return new McNemar(yesToNo, noToYes, concordant, p);
    }
}
