package dev.stitch.eval.metrics;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class AnchorSimilarityTest {
    private static float[] unit(float... v) {
        double n = 0;
        for (float x : v) n += x * x;
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) u[i] = (float) (v[i] / Math.sqrt(n));
        return u;
    }

    @Test
    void centroidIsTheNormalisedMeanOfTheAnchors() {
        float[] c = AnchorSimilarity.centroid(new float[][] {{1, 0, 0}, {0, 1, 0}});
        assertArrayEquals(new float[] {(float) Math.sqrt(0.5), (float) Math.sqrt(0.5), 0}, c, 1e-7f);
        // cos(45°) to each anchor; orthogonal to the third axis; opposite to the mean
        assertEquals(Math.sqrt(0.5), AnchorSimilarity.score(new float[] {1, 0, 0}, c), 1e-7);
        assertEquals(0, AnchorSimilarity.score(new float[] {0, 0, 2}, c), 1e-7);
        assertEquals(-1, AnchorSimilarity.score(new float[] {-3, -3, 0}, c), 1e-7);
    }

    @Test
    void randomAnchorsAgainstAHandComputation() {
        SplittableRandom r = new SplittableRandom(3);
        int d = 16, k = 5;
        float[][] a = new float[k][d];
        double[] mean = new double[d];
        for (int i = 0; i < k; i++) {
            float[] v = new float[d];
            for (int j = 0; j < d; j++) v[j] = (float) (r.nextDouble() * 2 - 1);
            a[i] = unit(v);
            for (int j = 0; j < d; j++) mean[j] += a[i][j] / k;
        }
        float[] x = new float[d];
        for (int j = 0; j < d; j++) x[j] = (float) (r.nextDouble() * 2 - 1);
        double dot = 0, nx = 0, nm = 0;
        for (int j = 0; j < d; j++) {
            dot += x[j] * mean[j];
            nx += x[j] * x[j];
            nm += mean[j] * mean[j];
        }
        double s = AnchorSimilarity.score(x, AnchorSimilarity.centroid(a));
        assertEquals(dot / Math.sqrt(nx * nm), s, 1e-6);
        assertNotEquals(0, s);
    }

    @Test
    void refusesWhatHasNoDirection() {
        assertThrows(IllegalArgumentException.class, () -> AnchorSimilarity.centroid(new float[0][]));
        assertThrows(IllegalArgumentException.class, () -> AnchorSimilarity.centroid(new float[][] {{1, 0}, {-1, 0}}));
    }
}
