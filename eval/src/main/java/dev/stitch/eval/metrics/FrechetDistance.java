package dev.stitch.eval.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The Fréchet distance between two Gaussians, the quantity behind FID:
 * d² = |μ₁−μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½, in float64.
 * <p>
 * (Σ₁Σ₂)^½ is not symmetric, but its trace is Σ √λᵢ over the eigenvalues of Σ₁Σ₂, which equal those of the
 * symmetric positive semi-definite √Σ₁ Σ₂ √Σ₁ (the usual route) and, with any factor Σ₁ = B Bᵀ, those of the
 * smaller symmetric Bᵀ Σ₂ B. B comes from a pivoted Cholesky factorisation, which stops at Σ₁'s numerical rank
 * (fewer images than feature dimensions leave Σ₁ singular); only eigenvalues are needed, no eigenvectors, which
 * is what makes a 2048-dimensional FID take seconds rather than minutes. Rounding can leave tiny negative
 * eigenvalues: they are clamped to 0. (pytorch-fid's {@code sqrtm} of the non-symmetric product instead returns
 * complex noise it has to discard.)
 */
public final class FrechetDistance {
    private FrechetDistance() {}

    public static double between(FeatureStats a, FeatureStats b) { return between(a.mean(), a.cov(), b.mean(), b.cov()); }

    public static double between(double[] mu1, double[][] s1, double[] mu2, double[][] s2) {
        int d = mu1.length;
        if (mu2.length != d || s1.length != d || s2.length != d)
            throw new IllegalArgumentException("dimensions differ: " + d + " vs " + mu2.length);
        double diff = 0, tr1 = 0, tr2 = 0;
        for (int i = 0; i < d; i++) {
            diff += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
            tr1 += s1[i][i];
            tr2 += s2[i][i];
        }
        double[][] b = pivotedCholesky(s1); // rows are B's columns
        int r = b.length;
        double[][] t = new double[r][];
        IntStream.range(0, r).parallel().forEach(k -> t[k] = times(s2, b[k]));
        double[][] c = new double[r][r];
        IntStream.range(0, r).parallel().forEach(k -> {
            for (int l = k; l < r; l++) c[k][l] = dot(b[k], t[l]);
        });
        double trSqrt = 0;
        for (double l : SymmetricEigenvalues.of(c)) trSqrt += Math.sqrt(Math.max(l, 0));
        return diff + tr1 + tr2 - 2 * trSqrt;
    }

    /**
     * Vectors b_k with Σ b_k b_kᵀ = s up to rounding, for symmetric positive semi-definite {@code s}: Cholesky with
     * the largest remaining diagonal as pivot, stopped when that falls to rounding level (n·ε·max diagonal).
     */
    static double[][] pivotedCholesky(double[][] s) {
        int n = s.length;
        double[][] r = new double[n][n];
        double maxDiag = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) r[i][j] = r[j][i] = s[i][j];
            maxDiag = Math.max(maxDiag, s[i][i]);
        }
        double tol = n * Math.ulp(1.0) * maxDiag;
        boolean[] used = new boolean[n];
        List<double[]> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            int p = -1;
            for (int i = 0; i < n; i++) if (!used[i] && (p < 0 || r[i][i] > r[p][p])) p = i;
            if (r[p][p] <= tol) break;
            double piv = Math.sqrt(r[p][p]);
            double[] b = new double[n];
            double[] rp = r[p];
            for (int i = 0; i < n; i++) if (!used[i]) b[i] = rp[i] / piv;
            used[p] = true;
            SymmetricEigenvalues.rows(0, n, i -> {
                if (used[i] || b[i] == 0) return;
                double[] ri = r[i];
                double bi = b[i];
                for (int j = 0; j < n; j++) ri[j] -= bi * b[j];
            });
            out.add(b);
        }
        return out.toArray(new double[0][]);
    }

    private static double[] times(double[][] m, double[] v) {
        double[] out = new double[m.length];
        for (int i = 0; i < m.length; i++) out[i] = dot(m[i], v);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s0 = 0, s1 = 0;
        int i = 0, n = a.length;
        for (; i + 1 < n; i += 2) {
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
        }
        if (i < n) s0 += a[i] * b[i];
        return s0 + s1;
    }
}
