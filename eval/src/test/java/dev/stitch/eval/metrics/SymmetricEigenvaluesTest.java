package dev.stitch.eval.metrics;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SymmetricEigenvaluesTest {
    private static double[][] randomSymmetric(Random r, int n) {
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) a[i][j] = a[j][i] = r.nextGaussian();
        return a;
    }

    @Test
    void matchCommonsMath() {
        Random r = new Random(13);
        for (int n : new int[] {1, 2, 3, 10, 57, 250}) { // 250 crosses into the parallel row loops
            double[][] a = randomSymmetric(r, n);
            double[] want = new EigenDecomposition(new Array2DRowRealMatrix(a)).getRealEigenvalues();
            Arrays.sort(want);
            double[] got = SymmetricEigenvalues.of(a);
            double scale = Math.max(Math.abs(want[0]), Math.abs(want[n - 1]));
            for (int i = 0; i < n; i++) {
                assertTrue(Double.isFinite(got[i]));
                assertEquals(want[i], got[i], 1e-11 * scale, "n=" + n + " eigenvalue " + i);
            }
        }
    }

    @Test
    void structuredMatrices() {
        // diagonal, repeated eigenvalues, an already tridiagonal matrix, and zeros in the Householder columns
        assertArrayEquals(new double[] {-2, 1, 3}, SymmetricEigenvalues.of(new double[][] {{3, 0, 0}, {0, -2, 0}, {0, 0, 1}}), 1e-14);
        double[] rep = SymmetricEigenvalues.of(new double[][] {{2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 5}});
        assertArrayEquals(new double[] {2, 2, 2, 5}, rep, 1e-14);
        // the path graph on 5 nodes: eigenvalues 2 cos(kπ/6), k = 1..5
        double[][] path = new double[5][5];
        for (int i = 0; i < 4; i++) path[i][i + 1] = path[i + 1][i] = 1;
        double[] want = new double[5];
        for (int k = 1; k <= 5; k++) want[k - 1] = 2 * Math.cos(k * Math.PI / 6);
        Arrays.sort(want);
        assertArrayEquals(want, SymmetricEigenvalues.of(path), 1e-14);
        // the trace and Frobenius norm are preserved
        Random r = new Random(14);
        double[][] a = randomSymmetric(r, 40);
        double tr = 0, fro = 0, sum = 0, sq = 0;
        for (int i = 0; i < 40; i++) {
            tr += a[i][i];
            for (int j = 0; j < 40; j++) fro += a[i][j] * a[i][j];
        }
        for (double l : SymmetricEigenvalues.of(a)) {
            sum += l;
            sq += l * l;
        }
        assertEquals(tr, sum, 1e-10);
        assertEquals(fro, sq, 1e-9);
    }
}
