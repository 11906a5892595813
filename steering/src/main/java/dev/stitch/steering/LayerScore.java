package dev.stitch.steering;

/**
 * LayerNavigator's score for one tap, as published (Sun et al. 2025; {@code get_score.py} of
 * Bryson-Arrot/LayerNavigator with {@code acts_pre="standard"}). The 2n activations (n positive, n negative) are
 * standardised per feature over all 2n rows (population standard deviation); {@code v̂} is the steering method's own
 * vector, computed on the raw activations, at unit length. Then
 * <ul>
 *   <li>consistency {@code C} = the mean over pairs of the cosine between the standardised pair difference and v̂;
 *   <li>discriminability {@code D = v̂ᵀS_b v̂ / v̂ᵀS_t v̂} on the standardised activations (between-class over total
 *       scatter along v̂, so 0 ≤ D ≤ 1);
 *   <li>score {@code s = D + C}.
 * </ul>
 * The earlier variant, an unbounded Fisher ratio of the projections that dwarfs C, is kept as {@link #fisher}.
 */
public record LayerScore(double discriminability, double consistency) {
    public double score() { return discriminability + consistency; }

    /** The published score with v the mean difference of the raw activations (what MEAN_DIFF extracts). */
    public static LayerScore of(float[][] pos, float[][] neg) {
        Extraction.check(pos, neg);
        int n = pos.length, c = pos[0].length;
        double[] v = new double[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) v[j] += ((double) pos[i][j] - neg[i][j]) / n;
        return of(pos, neg, v);
    }

    /** The published score along a method's own vector {@code v} (any length; it is normalised here). */
    public static LayerScore of(float[][] pos, float[][] neg, float[] v) {
        double[] d = new double[v.length];
        for (int j = 0; j < v.length; j++) d[j] = v[j];
        return of(pos, neg, d);
    }

    static LayerScore of(float[][] pos, float[][] neg, double[] v) {
        Extraction.check(pos, neg);
        int n = pos.length, c = pos[0].length;
        if (v.length != c) throw new IllegalArgumentException("vector has " + v.length + " features, activations " + c);
        double[][] zp = new double[n][c], zn = new double[n][c];
        standardise(pos, neg, zp, zn);
        double vn = Math.sqrt(Extraction.dot(v, v));
        if (!(vn > 0) || !Double.isFinite(vn)) return new LayerScore(0, 0);
        double[] u = new double[c];
        for (int j = 0; j < c; j++) u[j] = v[j] / vn;

        // C: cosines of the standardised pair differences with v̂ (a zero difference counts as 0, where numpy gives NaN)
        double cons = 0;
        double[] d = new double[c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) d[j] = zp[i][j] - zn[i][j];
            double dn = Math.sqrt(Extraction.dot(d, d));
            if (dn > 0) cons += Extraction.dot(d, u) / dn;
        }
        cons /= n;

        // D along v̂ from the projections alone: v̂ᵀS_w v̂ = Σ_class Σ_i (p_i − m_class)², v̂ᵀS_b v̂ = Σ_class n (m_class − m)²
        double[] pp = new double[n], pn = new double[n];
        double mp = 0, mn = 0;
        for (int i = 0; i < n; i++) {
            pp[i] = Extraction.dot(zp[i], u);
            pn[i] = Extraction.dot(zn[i], u);
            mp += pp[i];
            mn += pn[i];
        }
        mp /= n;
        mn /= n;
        double m = (mp + mn) / 2, within = 0;
        for (int i = 0; i < n; i++) within += (pp[i] - mp) * (pp[i] - mp) + (pn[i] - mn) * (pn[i] - mn);
        double between = n * ((mp - m) * (mp - m) + (mn - m) * (mn - m));
        double total = within + between;
        double disc = total > 0 ? between / total : 0;
        return new LayerScore(disc, cons);
    }

    /**
     * The earlier variant, kept under its own name: v the mean standardised difference, D the Fisher ratio
     * {@code (μ₊ − μ₋)² / (σ₊² + σ₋²)} of the projections on v̂ (unbounded), C as above.
     */
    public static LayerScore fisher(float[][] pos, float[][] neg) {
        Extraction.check(pos, neg);
        int n = pos.length, c = pos[0].length;
        double[][] zp = new double[n][c], zn = new double[n][c];
        standardise(pos, neg, zp, zn);
        double[] v = new double[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) v[j] += (zp[i][j] - zn[i][j]) / n;
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

    /** Per-feature standardisation over all 2n rows (mean and population standard deviation, as numpy's std). */
    private static void standardise(float[][] pos, float[][] neg, double[][] zp, double[][] zn) {
        int n = pos.length, c = pos[0].length;
        double[] mu = new double[c], sd = new double[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) mu[j] += ((double) pos[i][j] + neg[i][j]) / (2.0 * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                double a = pos[i][j] - mu[j], b = neg[i][j] - mu[j];
                sd[j] += (a * a + b * b) / (2.0 * n);
            }
        // a constant feature carries no information: it standardises to 0 (numpy would divide by zero)
        for (int j = 0; j < c; j++) sd[j] = Math.sqrt(sd[j]);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                zp[i][j] = sd[j] > 0 ? (pos[i][j] - mu[j]) / sd[j] : 0;
                zn[i][j] = sd[j] > 0 ? (neg[i][j] - mu[j]) / sd[j] : 0;
            }
    }
}
