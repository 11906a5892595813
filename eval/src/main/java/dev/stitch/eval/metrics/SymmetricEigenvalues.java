package dev.stitch.eval.metrics;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Eigenvalues (no eigenvectors) of a real symmetric matrix: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson shifts (EISPACK's tred/tql, as in JAMA). Written for the 2048×2048
 * matrices of FID, where a general eigendecomposition that also accumulates eigenvectors column by column costs
 * minutes: here every inner loop runs along a row, and the big steps are split across cores.
 */
public final class SymmetricEigenvalues {
    private SymmetricEigenvalues() {}

    /** Rows below which the row loops stay on one thread. */
    private static final int PARALLEL_ROWS = 192;

    /** The eigenvalues of symmetric {@code a} (only its upper triangle is read), ascending. {@code a} is not changed. */
    public static double[] of(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            if (a[i].length != n) throw new IllegalArgumentException("matrix is not square");
            m[i] = new double[n];
            for (int j = i; j < n; j++) m[i][j] = a[i][j];
            for (int j = 0; j < i; j++) m[i][j] = a[j][i];
        }
        double[] d = new double[n], e = new double[n];
        tridiagonalize(m, d, e);
        ql(d, e);
        Arrays.sort(d);
        return d;
    }

    /**
     * Householder reduction of symmetric {@code a} (overwritten) to tridiagonal form: diagonal {@code d}, off-diagonal
     * {@code e[i]} between rows i and i+1 ({@code e[n-1] = 0}). Step k reflects row k's tail onto its first entry:
     * with H = I − 2vvᵀ, p = A v and w = p − (vᵀp) v, H A H = A − 2(v wᵀ + w vᵀ).
     */
    static void tridiagonalize(double[][] a, double[] d, double[] e) {
        int n = a.length;
        for (int k = 0; k < n - 2; k++) {
            final int s = k + 1; // the trailing block is rows/columns s..n-1
            double[] row = a[k];
            double norm2 = 0;
            for (int j = s; j < n; j++) norm2 += row[j] * row[j];
            d[k] = row[k];
            double norm = Math.sqrt(norm2);
            if (norm == 0) {
                e[k] = 0;
                continue;
            }
            double alpha = row[s] > 0 ? -norm : norm;
            double[] v = new double[n];
            for (int j = s; j < n; j++) v[j] = row[j];
            v[s] -= alpha;
            double vnorm = Math.sqrt(norm2 - row[s] * row[s] + v[s] * v[s]);
            e[k] = alpha;
            if (vnorm == 0) continue;
            for (int j = s; j < n; j++) v[j] /= vnorm;
            double[] p = new double[n];
            rows(s, n, i -> {
                double[] ai = a[i];
                double acc = 0;
                for (int j = s; j < n; j++) acc += ai[j] * v[j];
                p[i] = acc;
            });
            double vp = 0;
            for (int j = s; j < n; j++) vp += v[j] * p[j];
            double[] w = new double[n];
            for (int j = s; j < n; j++) w[j] = p[j] - vp * v[j];
            rows(s, n, i -> {
                double[] ai = a[i];
                double vi = 2 * v[i], wi = 2 * w[i];
                for (int j = s; j < n; j++) ai[j] -= vi * w[j] + wi * v[j];
            });
        }
        if (n >= 2) {
            d[n - 2] = a[n - 2][n - 2];
            e[n - 2] = a[n - 2][n - 1];
        }
        if (n >= 1) {
            d[n - 1] = a[n - 1][n - 1];
            e[n - 1] = 0;
        }
    }

    static void rows(int from, int to, java.util.function.IntConsumer body) {
        if (to - from < PARALLEL_ROWS) for (int i = from; i < to; i++) body.accept(i);
        else IntStream.range(from, to).parallel().forEach(body);
    }

    /** The implicit QL iteration on a symmetric tridiagonal matrix; {@code d} ends holding the eigenvalues (unsorted). */
    static void ql(double[] d, double[] e) {
        int n = d.length;
        double f = 0, tst1 = 0, eps = Math.ulp(1.0);
        for (int l = 0; l < n; l++) {
            tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
            int m = l;
            while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
            if (m > l) {
                int iter = 0;
                do {
                    if (++iter > 100) throw new ArithmeticException("QL did not converge at eigenvalue " + l);
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = Math.hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1], h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    p = d[m];
                    double c = 1, c2 = 1, c3 = 1, el1 = e[l + 1], s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--) {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Math.hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                } while (Math.abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
    }
}
