package dev.stitch.eval.metrics;

/** A value estimated by resampling: the mean over the draws and their standard deviation (population, ddof 0). */
public record Estimate(double mean, double std, int draws) {
    static Estimate of(double[] values) {
        double m = 0;
        for (double v : values) m += v;
        m /= values.length;
        double s = 0;
        for (double v : values) s += (v - m) * (v - m);
        return new Estimate(m, Math.sqrt(s / values.length), values.length);
    }

    @Override
    public String toString() { return mean + " ± " + std; }
}
