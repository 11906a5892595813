package dev.stitch.eval.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ClipScoreTest {
    @Test
    void hundredTimesTheClampedCosine() {
        float[] img = {3, 0, 4}, txt = {0, 2, 0}, same = {6, 0, 8}, half = {3, 0, 4 + 5 * (float) Math.sqrt(3)};
        assertEquals(0, ClipScore.score(img, txt), 1e-12); // orthogonal
        assertEquals(100, ClipScore.score(img, same), 1e-9); // scale does not matter
        assertEquals(0, ClipScore.score(img, new float[] {-3, 0, -4}), 1e-12); // negative cosine clamps to 0
        // cos = (9 + 16 + 20√3)/(5 · |half|) with |half|² = 9 + (4+5√3)²
        double s3 = Math.sqrt(3), cos = (25 + 20 * s3) / (5 * Math.sqrt(9 + (4 + 5 * s3) * (4 + 5 * s3)));
        assertEquals(100 * cos, ClipScore.score(img, half), 1e-5);
        assertEquals((100 + 0 + 100 * cos) / 3, ClipScore.mean(List.of(img, img, img), List.of(same, txt, half)), 1e-5);
        assertThrows(IllegalArgumentException.class, () -> ClipScore.score(img, new float[3]));
    }

    @Test
    void zeroShotSoftmax() {
        float[] img = {1, 0};
        float[][] classes = {{1, 0}, {0, 1}, {1, 1}};
        double scale = 100;
        double[] p = ZeroShotProbe.probabilities(img, classes, scale);
        double e0 = Math.exp(scale), e1 = Math.exp(0), e2 = Math.exp(scale / Math.sqrt(2)), z = e0 + e1 + e2;
        assertArrayEquals(new double[] {e0 / z, e1 / z, e2 / z}, p, 1e-12);
        assertTrue(ZeroShotProbe.flags(img, classes, scale, 0, 0.5));
        assertFalse(ZeroShotProbe.flags(img, classes, 1, 0, 0.5)); // a small scale spreads the mass
        // huge logit scales must not overflow
        double[] big = ZeroShotProbe.probabilities(img, classes, 1e6);
        assertEquals(1, big[0], 1e-12);
        for (double v : big) assertTrue(Double.isFinite(v));
    }
}
