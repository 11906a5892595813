package dev.stitch.steering;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LayerNavigator's published score against hand computations. */
class LayerScoreTest {

    @Test
    void oneFeatureByHand() {
        // all = {2, 4, 0, 2}: mean 2, population sd √2; z₊ = {0, √2}, z₋ = {−√2, 0}; v = mean raw difference = 2.
        // Both standardised differences are √2 > 0, so C = 1. Projections: class means ±√2/2, overall 0;
        // within-class scatter 4 · ½ = 2, between-class 2 · (½ + ½) = 2, so D = 2 / (2 + 2) = ½.
        LayerScore s = LayerScore.of(new float[][] {{2}, {4}}, new float[][] {{0}, {2}});
        assertEquals(1.0, s.consistency(), 1e-12);
        assertEquals(0.5, s.discriminability(), 1e-12);
        assertEquals(1.5, s.score(), 1e-12);
    }

    @Test
    void equalsTheScatterMatrixFormulaOnPlantedData() {
        Random r = new Random(21);
        int n = 9, c = 6;
        float[] planted = new float[c];
        for (int j = 0; j < c; j++) planted[j] = (float) r.nextGaussian();
        float[][] pos = new float[n][c], neg = new float[n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                // features of different scales, so standardisation matters
                double scale = 1 + 3 * j;
                neg[i][j] = (float) (scale * r.nextGaussian());
                pos[i][j] = (float) (neg[i][j] + scale * (planted[j] + 0.4 * r.nextGaussian()));
            }
        // any method's vector: here a random direction, not the mean difference
        float[] v = new float[c];
        for (int j = 0; j < c; j++) v[j] = (float) r.nextGaussian();
        LayerScore s = LayerScore.of(pos, neg, v);
        double[] expected = byScatterMatrices(pos, neg, v);
        assertEquals(expected[0], s.discriminability(), 1e-12);
        assertEquals(expected[1], s.consistency(), 1e-12);
        assertTrue(s.discriminability() >= 0 && s.discriminability() <= 1);
        // the one-argument form is the same along the mean raw difference
        float[] md = new float[c];
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) md[j] += (pos[i][j] - neg[i][j]) / n;
        LayerScore byMean = LayerScore.of(pos, neg);
        assertEquals(LayerScore.of(pos, neg, md).score(), byMean.score(), 1e-6);
        assertTrue(byMean.score() > s.score(), "the planted direction scores above a random one");
    }

    /** get_score.py written out with explicit c×c scatter matrices: {D, C}. */
    private static double[] byScatterMatrices(float[][] pos, float[][] neg, float[] vf) {
        int n = pos.length, c = pos[0].length;
        double[][] all = new double[2 * n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                all[i][j] = pos[i][j];
                all[n + i][j] = neg[i][j];
            }
        for (int j = 0; j < c; j++) {
            double mean = 0, var = 0;
            for (double[] row : all) mean += row[j] / (2 * n);
            for (double[] row : all) var += (row[j] - mean) * (row[j] - mean) / (2 * n);
            for (double[] row : all) row[j] = (row[j] - mean) / Math.sqrt(var);
        }
        double norm = 0;
        for (float x : vf) norm += (double) x * x;
        double[] v = new double[c];
        for (int j = 0; j < c; j++) v[j] = vf[j] / Math.sqrt(norm);
        double cons = 0;
        for (int i = 0; i < n; i++) {
            double[] d = new double[c];
            double dn = 0, dot = 0;
            for (int j = 0; j < c; j++) {
                d[j] = all[i][j] - all[n + i][j];
                dn += d[j] * d[j];
            }
            for (int j = 0; j < c; j++) dot += d[j] / Math.sqrt(dn) * v[j];
            cons += dot / n;
        }
        double[] total = new double[c];
        for (double[] row : all) for (int j = 0; j < c; j++) total[j] += row[j] / (2 * n);
        double[][] sw = new double[c][c], sb = new double[c][c];
        for (int cls = 0; cls < 2; cls++) {
            double[] mean = new double[c];
            for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) mean[j] += all[cls * n + i][j] / n;
            for (int i = 0; i < n; i++)
                for (int a = 0; a < c; a++)
                    for (int b = 0; b < c; b++)
                        sw[a][b] += (all[cls * n + i][a] - mean[a]) * (all[cls * n + i][b] - mean[b]);
            for (int a = 0; a < c; a++)
                for (int b = 0; b < c; b++) sb[a][b] += n * (mean[a] - total[a]) * (mean[b] - total[b]);
        }
        double num = 0, den = 0;
        for (int a = 0; a < c; a++)
            for (int b = 0; b < c; b++) {
                num += v[a] * sb[a][b] * v[b];
                den += v[a] * (sw[a][b] + sb[a][b]) * v[b];
            }
        return new double[] {num / den, cons};
    }
}
