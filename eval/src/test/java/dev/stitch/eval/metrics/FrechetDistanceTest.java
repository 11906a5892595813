package dev.stitch.eval.metrics;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.BlockRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class FrechetDistanceTest {
    private static double[] randomMean(Random r, int d) {
        double[] m = new double[d];
        for (int i = 0; i < d; i++) m[i] = r.nextGaussian() * 2;
        return m;
    }

    private static double[] randomSpectrum(Random r, int d) {
        double[] v = new double[d];
        for (int i = 0; i < d; i++) v[i] = 0.05 + 3 * r.nextDouble();
        return v;
    }

    /** Q diag(l) Qᵀ. */
    private static double[][] withEigen(RealMatrix q, double[] l) {
        int d = l.length;
        double[][] s = new double[d][d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                for (int k = 0; k < d; k++) s[i][j] += q.getEntry(i, k) * l[k] * q.getEntry(j, k);
        return s;
    }

    private static RealMatrix randomOrthogonal(Random r, int d) {
        double[][] a = new double[d][d];
        for (double[] row : a) for (int j = 0; j < d; j++) row[j] = r.nextGaussian();
        return new QRDecomposition(new Array2DRowRealMatrix(a)).getQ();
    }

    /** For commuting covariances (same eigenvectors) d² = |Δμ|² + Σ (√a_k − √b_k)². */
    private static double closedForm(double[] mu1, double[] a, double[] mu2, double[] b) {
        double s = 0;
        for (int i = 0; i < mu1.length; i++) s += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        for (int k = 0; k < a.length; k++) s += (Math.sqrt(a[k]) - Math.sqrt(b[k])) * (Math.sqrt(a[k]) - Math.sqrt(b[k]));
        return s;
    }

    @Test
    void diagonalCovariancesMatchTheClosedForm() {
        Random r = new Random(1);
        int d = 20;
        double[] mu1 = randomMean(r, d), mu2 = randomMean(r, d), a = randomSpectrum(r, d), b = randomSpectrum(r, d);
        double[][] s1 = new double[d][d], s2 = new double[d][d];
        for (int i = 0; i < d; i++) {
            s1[i][i] = a[i];
            s2[i][i] = b[i];
        }
        double got = FrechetDistance.between(mu1, s1, mu2, s2), want = closedForm(mu1, a, mu2, b);
        assertTrue(Double.isFinite(got));
        assertEquals(want, got, 1e-9 * Math.max(1, want));
    }

    @Test
    void commutingCovariancesMatchTheClosedForm() {
        Random r = new Random(2);
        int d = 16;
        RealMatrix q = randomOrthogonal(r, d);
        double[] mu1 = randomMean(r, d), mu2 = randomMean(r, d), a = randomSpectrum(r, d), b = randomSpectrum(r, d);
        double got = FrechetDistance.between(mu1, withEigen(q, a), mu2, withEigen(q, b));
        double want = closedForm(mu1, a, mu2, b);
        assertEquals(want, got, 1e-9 * Math.max(1, want));
        // identical distributions are at distance 0
        assertEquals(0, FrechetDistance.between(mu1, withEigen(q, a), mu1, withEigen(q, a)), 1e-9);
    }

    @Test
    void generalCovariancesAgreeWithTheEigenvaluesOfTheProduct() {
        Random r = new Random(3);
        int d = 12;
        double[] mu1 = randomMean(r, d), mu2 = randomMean(r, d);
        double[][] s1 = withEigen(randomOrthogonal(r, d), randomSpectrum(r, d));
        double[][] s2 = withEigen(randomOrthogonal(r, d), randomSpectrum(r, d));
        // tr (S1 S2)^½ = Σ √λ(S1 S2): S1 S2 is similar to a symmetric PSD matrix, so its eigenvalues are real ≥ 0.
        EigenDecomposition e = new EigenDecomposition(new Array2DRowRealMatrix(s1).multiply(new Array2DRowRealMatrix(s2)));
        double trSqrt = 0, tr1 = 0, tr2 = 0, diff = 0;
        for (int k = 0; k < d; k++) {
            assertEquals(0, e.getImagEigenvalue(k), 1e-9);
            trSqrt += Math.sqrt(e.getRealEigenvalue(k));
            tr1 += s1[k][k];
            tr2 += s2[k][k];
            diff += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
        }
        double want = diff + tr1 + tr2 - 2 * trSqrt;
        double got = FrechetDistance.between(mu1, s1, mu2, s2);
        assertEquals(want, got, 1e-9 * Math.max(1, want));
        assertEquals(got, FrechetDistance.between(mu2, s2, mu1, s1), 1e-9 * Math.max(1, want), "symmetric");
        assertTrue(got > 0);
    }

    /** The usual route with Commons Math: tr (√S1 S2 √S1)^½ from two symmetric eigendecompositions. */
    private static double viaSymmetricSqrt(double[] mu1, double[][] s1, double[] mu2, double[][] s2) {
        int d = mu1.length;
        EigenDecomposition e1 = new EigenDecomposition(new BlockRealMatrix(s1));
        RealMatrix v = e1.getV(), scaled = v.copy();
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) scaled.setEntry(i, j, v.getEntry(i, j) * Math.sqrt(Math.max(e1.getRealEigenvalue(j), 0)));
        RealMatrix root = scaled.multiply(v.transpose());
        RealMatrix m = root.multiply(new BlockRealMatrix(s2)).multiply(root);
        RealMatrix sym = m.add(m.transpose()).scalarMultiply(0.5);
        double tr = 0, diff = 0, tr1 = 0, tr2 = 0;
        for (double l : new EigenDecomposition(sym).getRealEigenvalues()) tr += Math.sqrt(Math.max(l, 0));
        for (int i = 0; i < d; i++) {
            diff += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
            tr1 += s1[i][i];
            tr2 += s2[i][i];
        }
        return diff + tr1 + tr2 - 2 * tr;
    }

    @Test
    void agreesWithTheSymmetricSquareRootRoute() {
        Random r = new Random(12);
        for (int d : new int[] {1, 2, 7, 40}) {
            double[] mu1 = randomMean(r, d), mu2 = randomMean(r, d);
            double[][] s1 = withEigen(randomOrthogonal(r, d), randomSpectrum(r, d));
            double[][] s2 = withEigen(randomOrthogonal(r, d), randomSpectrum(r, d));
            double want = viaSymmetricSqrt(mu1, s1, mu2, s2);
            assertEquals(want, FrechetDistance.between(mu1, s1, mu2, s2), 1e-9 * Math.max(1, want), "d=" + d);
        }
        // singular covariances (rank 5 of 30), as from fewer images than feature dimensions
        int d = 30;
        double[] spec1 = new double[d], spec2 = randomSpectrum(r, d);
        for (int i = 0; i < 5; i++) spec1[i] = 1 + r.nextDouble();
        double[] mu1 = randomMean(r, d), mu2 = randomMean(r, d);
        double[][] s1 = withEigen(randomOrthogonal(r, d), spec1), s2 = withEigen(randomOrthogonal(r, d), spec2);
        double want = viaSymmetricSqrt(mu1, s1, mu2, s2);
        assertEquals(want, FrechetDistance.between(mu1, s1, mu2, s2), 1e-6, "rank-deficient: rounding noise at √ε level");
        assertEquals(5, FrechetDistance.pivotedCholesky(s1).length);
    }

    @Test
    void rankDeficientCovariancesStayFinite() {
        // fewer samples than dimensions, as with few images and 2048-d features: singular covariances
        Random r = new Random(4);
        int d = 10, n = 4;
        float[][] x = new float[n][d], y = new float[n][d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                x[i][j] = (float) r.nextGaussian();
                y[i][j] = (float) r.nextGaussian();
            }
        double fid = FrechetDistance.between(FeatureStats.of(x), FeatureStats.of(y));
        assertTrue(Double.isFinite(fid) && fid > 0, "fid " + fid);
        assertEquals(0, FrechetDistance.between(FeatureStats.of(x), FeatureStats.of(x)), 1e-9);
    }
}
