package dev.stitch.steering;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

import java.util.Arrays;

/**
 * Steering directions from paired pooled activations: {@code pos[i]} and {@code neg[i]} are the [C] activations of
 * the i-th pair. All arithmetic is in double and in a fixed order, so the same inputs give the same vector, bit for
 * bit. Directions other than mean-diff are unit vectors rescaled to the mean projection of the paired differences,
 * so every method's vector has the magnitude of the shift it describes and strengths mean the same across methods.
 */
public final class Extraction {
    private Extraction() {}

    /** A linear direction (mean-diff, PCA, probe, LDA) or, for AcT, a per-channel transport. */
    public record Result(float[] direction, Transport transport) {
        static Result of(double[] v) { return new Result(toFloat(v), null); }
    }

    public static Result extract(Method method, float[][] pos, float[][] neg) {
        check(pos, neg);
        return switch (method) {
            case MEAN_DIFF -> Result.of(meanDiff(pos, neg));
            case PCA_DIFF -> Result.of(pcaDiff(pos, neg));
            case PCA_CENTER -> Result.of(pcaCenter(pos, neg));
            case PROBE -> Result.of(probe(pos, neg));
            case LDA -> Result.of(lda(pos, neg));
            case ACT_LINEAR, ACT_LINEAR_INCREMENTAL -> new Result(null, Transport.linear(neg, pos));   // incremental: on what reached the tap
            case ACT_MEAN -> new Result(null, Transport.mean(neg, pos));
        };
    }

    static void check(float[][] pos, float[][] neg) {
        if (pos.length == 0 || pos.length != neg.length)
            throw new IllegalArgumentException("need equally many positive and negative samples, got " + pos.length + " and " + neg.length);
        int c = pos[0].length;
        for (int i = 0; i < pos.length; i++)
            if (pos[i].length != c || neg[i].length != c) throw new IllegalArgumentException("sample " + i + " has another width");
    }

    static double[] mean(float[][] x) {
        double[] m = new double[x[0].length];
        for (float[] row : x) for (int j = 0; j < m.length; j++) m[j] += row[j];
        for (int j = 0; j < m.length; j++) m[j] /= x.length;
        return m;
    }

    public static double[] meanDiff(float[][] pos, float[][] neg) {
        double[] p = mean(pos), n = mean(neg);
        for (int j = 0; j < p.length; j++) p[j] -= n[j];
        return p;
    }

    static double[][] differences(float[][] pos, float[][] neg) {
        double[][] d = new double[pos.length][pos[0].length];
        for (int i = 0; i < pos.length; i++) for (int j = 0; j < d[i].length; j++) d[i][j] = (double) pos[i][j] - neg[i][j];
        return d;
    }

    /**
     * As repeng's {@code pca_diff}: the differences are centered first, so this finds the axis along which the
     * concept's strength varies most between pairs.
     */
    static double[] pcaDiff(float[][] pos, float[][] neg) {
        double[][] d = differences(pos, neg);
        int c = d[0].length;
        double[] mu = new double[c];
        for (double[] row : d) for (int j = 0; j < c; j++) mu[j] += row[j] / d.length;
        for (double[] row : d) for (int j = 0; j < c; j++) row[j] -= mu[j];
        return scaleToShift(firstComponent(d), pos, neg);
    }

    /**
     * As repeng's {@code pca_center}: each pair is centered on its own midpoint, which removes what the two prompts
     * share (their content) and leaves ±half the difference; the first component is the dominant shift.
     */
    static double[] pcaCenter(float[][] pos, float[][] neg) {
        int n = pos.length, c = pos[0].length;
        double[][] x = new double[2 * n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                double mid = ((double) pos[i][j] + neg[i][j]) / 2;
                x[2 * i][j] = pos[i][j] - mid;
                x[2 * i + 1][j] = neg[i][j] - mid;
            }
        return scaleToShift(firstComponent(x), pos, neg);
    }

    /**
     * The leading right-singular vector of the rows of {@code x}, by power iteration on the Gram matrix of the rows
     * (n × n, cheap since pairs are few and channels many), started deterministically.
     */
    static double[] firstComponent(double[][] x) {
        int n = x.length, c = x[0].length;
        double[][] g = new double[n][n];
        for (int i = 0; i < n; i++) for (int k = 0; k <= i; k++) g[i][k] = g[k][i] = dot(x[i], x[k]);
        double[] a = new double[n];
        Arrays.fill(a, 1.0 / Math.sqrt(n));
        for (int i = 0; i < n; i++) a[i] += 1e-3 * (i + 1) / n; // break ties with a fixed, asymmetric start
        for (int it = 0; it < 1000; it++) {
            double[] b = new double[n];
            for (int i = 0; i < n; i++) for (int k = 0; k < n; k++) b[i] += g[i][k] * a[k];
            double norm = Math.sqrt(dot(b, b));
            if (norm == 0) break;
            double delta = 0;
            for (int i = 0; i < n; i++) { b[i] /= norm; delta += Math.abs(b[i] - a[i]); }
            a = b;
            if (delta < 1e-13) break;
        }
        double[] v = new double[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) v[j] += a[i] * x[i][j];
        return normalize(v);
    }

    /**
     * L2-regularised logistic regression (labels +1 / −1) by full-batch gradient descent with momentum. The probe is
     * trained on pair-centered activations (each pair minus its midpoint), so the prompt content a pair shares does
     * not use up the probe; features are divided by one global RMS so a single step size fits every layer.
     */
    static double[] probe(float[][] pos, float[][] neg) {
        int n = pos.length, c = pos[0].length;
        double[][] x = new double[2 * n][c];
        double[] y = new double[2 * n];
        double ms = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double half = ((double) pos[i][j] - neg[i][j]) / 2;
                x[2 * i][j] = half;
                x[2 * i + 1][j] = -half;
                ms += half * half / ((double) n * c);
            }
            y[2 * i] = 1;
            y[2 * i + 1] = -1;
        }
        double rms = Math.sqrt(ms) + 1e-12;
        for (double[] row : x) for (int j = 0; j < c; j++) row[j] /= rms;
        double lambda = 1e-2, lr = 1.0 / c;
        double[] w = new double[c], vel = new double[c];
        for (int it = 0; it < 1000; it++) {
            double[] grad = new double[c];
            for (int i = 0; i < 2 * n; i++) {
                double m = y[i] * dot(w, x[i]);
                double s = -y[i] / (1 + StrictMath.exp(m)) / (2 * n);   // d/dz of log(1 + e^{-y z}), averaged; StrictMath: the same bits on every JVM
                for (int j = 0; j < c; j++) grad[j] += s * x[i][j];
            }
            for (int j = 0; j < c; j++) {
                vel[j] = 0.9 * vel[j] - lr * (grad[j] + lambda * w[j]);
                w[j] += vel[j];
            }
        }
        return scaleToShift(normalize(w), pos, neg);
    }

    /**
     * Σ⁻¹(μ₊ − μ₋) with Σ the pooled within-class covariance shrunk towards a scaled identity (Ledoit–Wolf), so
     * that it stays well-posed when there are fewer samples than channels.
     */
    static double[] lda(float[][] pos, float[][] neg) {
        int n = pos.length, c = pos[0].length;
        double[] md = meanDiff(pos, neg), mp = mean(pos), mn = mean(neg);
        double[][] r = new double[2 * n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                r[2 * i][j] = pos[i][j] - mp[j];
                r[2 * i + 1][j] = neg[i][j] - mn[j];
            }
        int m = 2 * n;
        double[][] s = new double[c][c];
        for (double[] row : r) for (int a = 0; a < c; a++) for (int b = 0; b <= a; b++) s[a][b] += row[a] * row[b] / m;
        for (int a = 0; a < c; a++) for (int b = 0; b < a; b++) s[b][a] = s[a][b];
        double mu = 0;
        for (int a = 0; a < c; a++) mu += s[a][a] / c;
        double d2 = 0, b2 = 0;
        for (int a = 0; a < c; a++) for (int b = 0; b < c; b++) { double t = s[a][b] - (a == b ? mu : 0); d2 += t * t; }
        for (double[] row : r) {
            double t = 0;
            for (int a = 0; a < c; a++) for (int b = 0; b < c; b++) { double e = row[a] * row[b] - s[a][b]; t += e * e; }
            b2 += t / ((double) m * m);
        }
        double gamma = d2 == 0 ? 1 : Math.min(1, Math.max(Math.min(b2, d2) / d2, 1e-3));
        RealMatrix sigma = new Array2DRowRealMatrix(c, c);
        for (int a = 0; a < c; a++)
            for (int b = 0; b < c; b++) sigma.setEntry(a, b, (1 - gamma) * s[a][b] + (a == b ? gamma * Math.max(mu, 1e-12) : 0));
        double[] w = new CholeskyDecomposition(sigma, 1e-12, 1e-14).getSolver().solve(new ArrayRealVector(md)).toArray();
        return scaleToShift(normalize(w), pos, neg);
    }

    /** Unit direction u (sign aligned with the mean difference) × mean projection of the paired differences on u. */
    static double[] scaleToShift(double[] u, float[][] pos, float[][] neg) {
        double[] md = meanDiff(pos, neg);
        double proj = dot(u, md);
        double[] v = new double[u.length];
        for (int j = 0; j < u.length; j++) v[j] = u[j] * proj;   // proj < 0 flips u: aligned with mean diff
        return v;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double[] normalize(double[] v) {
        double n = Math.sqrt(dot(v, v));
        if (n == 0) return v;
        double[] u = new double[v.length];
        for (int i = 0; i < v.length; i++) u[i] = v[i] / n;
        return u;
    }

    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }
}
