package dev.stitch.steering;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The operators' algebra on random NCHW and NLC data. */
class InterventionTest {
    static final int B = 2, C = 20, HW = 7;

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * 2;
        return x;
    }

    /** Token bases of an NCHW tensor [B, C, HW]: stride HW. */
    static int[] nchwTokens() {
        int[] t = new int[B * HW];
        for (int b = 0; b < B; b++) for (int p = 0; p < HW; p++) t[b * HW + p] = b * C * HW + p;
        return t;
    }

    static double projection(float[] x, int base, int stride, float[] v) {
        double p = 0, n = 0;
        for (int j = 0; j < C; j++) { p += x[base + j * stride] * v[j]; n += v[j] * v[j]; }
        return p / Math.sqrt(n);
    }

    @Test
    void ablateRemovesTheProjection() {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C);
        new Intervention(Operator.ABLATE, v, null, 1f, false).apply(x, nchwTokens(), HW);
        for (int base : nchwTokens()) assertEquals(0, projection(x, base, HW, v), 1e-5);
    }

    @Test
    void addShiftsTheProjectionByStrengthTimesNorm() {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * HW * C), v = random(r, C), before = x.clone();
        int[] tokens = new int[B * HW];
        for (int t = 0; t < tokens.length; t++) tokens[t] = t * C;   // NLC: stride 1
        new Intervention(Operator.ADD, v, null, 3f, false).apply(x, tokens, 1);
        double vn = Math.sqrt(projection(v, 0, 1, v) * projection(v, 0, 1, v));
        for (int base : tokens) assertEquals(projection(before, base, 1, v) + 3 * vn, projection(x, base, 1, v), 1e-4);
    }

    @Test
    void strengthZeroIsBitIdentical() {
        Random r = new Random(System.nanoTime());
        float[] v = random(r, C);
        Transport t = Transport.mean(new float[][] {random(r, C)}, new float[][] {random(r, C)});
        for (Operator op : Operator.values()) {
            float[] x = random(r, B * C * HW), copy = x.clone();
            new Intervention(op, op == Operator.ACT ? null : v, op == Operator.ACT ? t : null, 0f, true).apply(x, nchwTokens(), HW);
            assertArrayEquals(copy, x, op.toString());
        }
    }

    @Test
    void gatedRemovesOnlyPositiveProjections() {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C), before = x.clone();
        new Intervention(Operator.GATED, v, null, 1f, false).apply(x, nchwTokens(), HW);
        for (int base : nchwTokens()) {
            double p0 = projection(before, base, HW, v), p1 = projection(x, base, HW, v);
            assertEquals(p0 > 0 ? 0 : p0, p1, 1e-5);
        }
    }

    @Test
    void clampSetsTheProjectionToTheVectorsLevel() {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C);
        new Intervention(Operator.CLAMP, v, null, 1f, false).apply(x, nchwTokens(), HW);
        double vn = projection(v, 0, 1, v);
        for (int base : nchwTokens()) assertEquals(vn, projection(x, base, HW, v), 1e-4);
    }

    @Test
    void normPreservationHoldsPerToken() {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C), before = x.clone();
        new Intervention(Operator.ADD, v, null, 5f, true).apply(x, nchwTokens(), HW);
        boolean changed = false;
        for (int base : nchwTokens()) {
            double n0 = 0, n1 = 0;
            for (int j = 0; j < C; j++) { n0 += before[base + j * HW] * before[base + j * HW]; n1 += x[base + j * HW] * x[base + j * HW]; }
            assertEquals(Math.sqrt(n0), Math.sqrt(n1), 1e-4 * Math.sqrt(n0));
            changed |= x[base] != before[base];
        }
        assertTrue(changed);
    }
}
