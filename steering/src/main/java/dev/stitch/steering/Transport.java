package dev.stitch.steering;

import java.util.Arrays;

/**
 * A per-channel affine map {@code x → ωx + β} fitted to move source activations onto target ones (AcT,
 * Rodriguez et al. 2024), applied as {@code (1−λ)x + λ(ωx + β)}. Linear-AcT fits ω, β by least squares between the
 * sorted source and target samples and is the identity outside the source support [lo, hi].
 */
public record Transport(float[] omega, float[] beta, float[] lo, float[] hi) {
    public int channels() { return omega.length; }

    /** Linear-AcT from source samples to target samples (rows are samples). */
    static Transport linear(float[][] source, float[][] target) {
        int c = source[0].length, n = source.length, m = target.length;
        float[] omega = new float[c], beta = new float[c], lo = new float[c], hi = new float[c];
        double[] s = new double[n], t = new double[n];
        for (int j = 0; j < c; j++) {
            for (int i = 0; i < n; i++) s[i] = source[i][j];
            double[] tt = new double[m];
            for (int i = 0; i < m; i++) tt[i] = target[i][j];
            Arrays.sort(s);
            Arrays.sort(tt);
            for (int i = 0; i < n; i++) t[i] = quantile(tt, n == 1 ? 0.5 : (double) i / (n - 1));
            double ms = 0, mt = 0;
            for (int i = 0; i < n; i++) { ms += s[i] / n; mt += t[i] / n; }
            double sst = 0, ss = 0;
            for (int i = 0; i < n; i++) { sst += (s[i] - ms) * (t[i] - mt); ss += (s[i] - ms) * (s[i] - ms); }
            double w = ss > 0 ? sst / ss : 1;
            omega[j] = (float) w;
            beta[j] = (float) (mt - w * ms);
            lo[j] = (float) s[0];
            hi[j] = (float) s[n - 1];
        }
        return new Transport(omega, beta, lo, hi);
    }

    /** Mean-AcT: ω = 1, β = mean(target) − mean(source), applied everywhere. */
    static Transport mean(float[][] source, float[][] target) {
        int c = source[0].length;
        double[] ms = Extraction.mean(source), mt = Extraction.mean(target);
        float[] omega = new float[c], beta = new float[c], lo = new float[c], hi = new float[c];
        for (int j = 0; j < c; j++) {
            omega[j] = 1;
            beta[j] = (float) (mt[j] - ms[j]);
            lo[j] = Float.NEGATIVE_INFINITY;
            hi[j] = Float.POSITIVE_INFINITY;
        }
        return new Transport(omega, beta, lo, hi);
    }

    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int i = (int) Math.floor(pos);
        if (i >= sorted.length - 1) return sorted[sorted.length - 1];
        double f = pos - i;
        return sorted[i] * (1 - f) + sorted[i + 1] * f;
    }

    /** The map at strength λ for one channel value; identity outside [lo, hi]. */
    public float apply(int channel, float x, float lambda) {
        if (x < lo[channel] || x > hi[channel]) return x;
        return (1 - lambda) * x + lambda * (omega[channel] * x + beta[channel]);
    }
}
