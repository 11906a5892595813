package dev.stitch.steering;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Synthetic activations with a planted direction: every method must find it. */
class ExtractionTest {
    static final int C = 16, N = 96;

    /** Pairs share a random base; positives add a·v with a varying per pair; isotropic noise on top. */
    static float[][][] planted(Random r, float[] v, double noise) { return planted(r, v, noise, N); }

    static float[][][] planted(Random r, float[] v, double noise, int pairs) {
        int N = pairs;
        float[][] pos = new float[N][C], neg = new float[N][C];
        for (int i = 0; i < N; i++) {
            double a = 1 + 3 * r.nextDouble();   // the strength varies between pairs, as real prompts do
            for (int j = 0; j < C; j++) {
                double base = r.nextGaussian();
                neg[i][j] = (float) (base + noise * r.nextGaussian());
                pos[i][j] = (float) (base + a * v[j] + noise * r.nextGaussian());
            }
        }
        return new float[][][] {pos, neg};
    }

    static float[] unitVector(Random r) {
        float[] v = new float[C];
        double n = 0;
        for (int j = 0; j < C; j++) { v[j] = (float) r.nextGaussian(); n += v[j] * v[j]; }
        for (int j = 0; j < C; j++) v[j] /= (float) Math.sqrt(n);
        return v;
    }

    static double cosine(float[] a, float[] b) {
        double d = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return d / Math.sqrt(na * nb);
    }

    @Test
    void everyLinearMethodRecoversThePlantedDirection() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        float[] v = unitVector(r);
        float[][][] data = planted(r, v, 0.05);
        for (Method m : Method.values()) {
            if (m.isTransport()) continue;
            // LDA inverts an estimated covariance, whose error shrinks only as sqrt(channels / samples): give it more
            float[][][] in = m == Method.LDA ? planted(r, v, 0.05, 3000) : data;
            float[] d = Extraction.extract(m, in[0], in[1]).direction();
            for (float x : d) assertTrue(Float.isFinite(x), m + " produced a non-finite value");
            double cos = cosine(d, v);
            assertTrue(cos > 0.99, m + ": cosine " + cos + " (seed " + seed + ")");
            // magnitude: the mean shift along v is 2.5 on average
            double len = Math.sqrt(Arrays.stream(box(d)).map(x -> x * x).sum());
            assertEquals(2.5, len, 0.3, m + " length (seed " + seed + ")");
        }
    }

    @Test
    void meanDiffIsExactlyTheMeanOfPairDifferences() {
        float[][] pos = {{1, 2}, {3, 5}}, neg = {{0, 1}, {1, 1}};
        float[] d = Extraction.extract(Method.MEAN_DIFF, pos, neg).direction();
        assertArrayEquals(new float[] {1.5f, 2.5f}, d);
    }

    @Test
    void transportsMoveSourceOntoTarget() {
        Random r = new Random(11);
        float[] v = unitVector(r);
        float[][][] data = planted(r, v, 0.1);
        for (Method m : new Method[] {Method.ACT_LINEAR, Method.ACT_MEAN}) {
            Transport t = Extraction.extract(m, data[0], data[1]).transport();
            // the mean of transported negatives approaches the mean of positives, channel by channel
            double err = 0, before = 0;
            for (int j = 0; j < C; j++) {
                double mt = 0, mp = 0, mn = 0;
                for (int i = 0; i < N; i++) { mt += t.apply(j, data[1][i][j], 1f) / N; mp += data[0][i][j] / (double) N; mn += data[1][i][j] / (double) N; }
                err += Math.abs(mt - mp);
                before += Math.abs(mn - mp);
            }
            assertTrue(err < 0.02 * before, m + ": residual " + err + " vs " + before);
        }
    }

    @Test
    void linearActIsIdentityOutsideTheSourceSupport() {
        float[][] src = {{0}, {1}, {2}}, tgt = {{10}, {12}, {14}};
        Transport t = Transport.linear(src, tgt);
        assertEquals(2f, t.omega()[0], 1e-6);
        assertEquals(10f, t.beta()[0], 1e-6);
        assertEquals(12f, t.apply(0, 1f, 1f), 1e-6);
        assertEquals(8f, t.apply(0, 2f, 0.5f), 1e-6);   // (1-0.5)*2 + 0.5*14
        assertEquals(5f, t.apply(0, 5f, 1f));            // outside [0, 2]: unchanged
        assertEquals(-1f, t.apply(0, -1f, 1f));
    }

    @Test
    void deterministicBitForBit() {
        Random r = new Random(5);
        float[] v = unitVector(r);
        float[][][] data = planted(r, v, 0.3);
        for (Method m : Method.values()) {
            var a = Extraction.extract(m, data[0], data[1]);
            var b = Extraction.extract(m, data[0], data[1]);
            if (m.isTransport()) assertEquals(Arrays.toString(a.transport().omega()), Arrays.toString(b.transport().omega()));
            else assertArrayEquals(a.direction(), b.direction(), m.toString());
        }
    }

    @Test
    void layerScoreRanksThePlantedLayerFirst() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        float[] v = unitVector(r);
        double[] scores = new double[5];
        int planted = 3;
        for (int layer = 0; layer < 5; layer++) {
            float[][][] data = layer == planted ? planted(r, v, 0.5) : planted(r, new float[C], 0.5);
            LayerScore s = LayerScore.of(data[0], data[1]);
            assertTrue(Double.isFinite(s.score()));
            scores[layer] = s.score();
        }
        for (int layer = 0; layer < 5; layer++)
            if (layer != planted) assertTrue(scores[planted] > scores[layer], Arrays.toString(scores) + " seed " + seed);
        LayerScore strong = LayerScore.of(planted(r, v, 0.1)[0], planted(r, v, 0.1)[1]);
        assertTrue(strong.consistency() <= 1 + 1e-9);
    }

    private static double[] box(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
