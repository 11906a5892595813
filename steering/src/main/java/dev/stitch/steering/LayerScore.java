package dev.stitch.steering;

/**
 * LayerNavigator's score for one tap (Sun et al. 2025): on activations z-scored per channel over all samples,
 * with v the mean difference, discriminability D is the Fisher ratio of the projections on v̂,
 * {@code (μ₊ − μ₋)² / (σ₊² + σ₋²)}, and consistency C the mean cosine between each pair's difference and v.
 * The score is s = D + C; a higher score marks a layer where the concept is both separable and consistent.
 */
public record LayerScore(double discriminability, double consistency) {
    public double score() { return discriminability + consistency; }

    public static LayerScore of(float[][] pos, float[][] neg) {
        Extraction.check(pos, neg);
        int n = pos.length, c = pos[0].length;
        double[] mu = new double[c], sd = new double[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) mu[j] += ((double) pos[i][j] + neg[i][j]) / (2.0 * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                double a = pos[i][j] - mu[j], b = neg[i][j] - mu[j];
                sd[j] += (a * a + b * b) / (2.0 * n);
            }
        for (int j = 0; j < c; j++) sd[j] = Math.sqrt(sd[j]) + 1e-8;
        double[][] zp = new double[n][c], zn = new double[n][c];
        double[] v = new double[c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                zp[i][j] = (pos[i][j] - mu[j]) / sd[j];
                zn[i][j] = (neg[i][j] - mu[j]) / sd[j];
                v[j] += (zp[i][j] - zn[i][j]) / n;
            }
        double[] u = Extraction.normalize(v);
        double[] pp = new double[n], pn = new double[n];
        double cons = 0, vn = Math.sqrt(Extraction.dot(v, v));
        for (int i = 0; i < n; i++) {
            pp[i] = Extraction.dot(zp[i], u);
            pn[i] = Extraction.dot(zn[i], u);
            double[] d = new double[c];
            for (int j = 0; j < c; j++) d[j] = zp[i][j] - zn[i][j];
            double dn = Math.sqrt(Extraction.dot(d, d));
            cons += dn == 0 || vn == 0 ? 0 : Extraction.dot(d, v) / (dn * vn) / n;
        }
        double mp = 0, mn = 0, vp = 0, vneg = 0;
        for (int i = 0; i < n; i++) { mp += pp[i] / n; mn += pn[i] / n; }
        for (int i = 0; i < n; i++) { vp += (pp[i] - mp) * (pp[i] - mp) / n; vneg += (pn[i] - mn) * (pn[i] - mn) / n; }
        double disc = (mp - mn) * (mp - mn) / (vp + vneg + 1e-12);
        return new LayerScore(disc, cons);
    }
}
