package dev.stitch.steering;

import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The operators' algebra on random NCHW and NLC data, as the reference and the CPU backend compute it. */
class InterventionTest {
    static final int B = 2, C = 20, HW = 7;

    static List<Backend> backends() { return List.of(ReferenceBackend.INSTANCE, new CpuBackend(2, true)); }

    static final int[] ALL_ROWS = {0, 1};

    /** x as [B, C, HW] (NCHW) edited through the backend. */
    static float[] nchw(Backend ops, Intervention iv, float[] x) {
        return ops.toHost(iv.apply(ops, Tensor.of(x.clone(), B, C, HW), TapLayout.NCHW, ALL_ROWS));
    }

    /** x as [B, HW, C] (NLC) edited through the backend. */
    static float[] nlc(Backend ops, Intervention iv, float[] x) {
        return ops.toHost(iv.apply(ops, Tensor.of(x.clone(), B, HW, C), TapLayout.NLC, ALL_ROWS));
    }

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

    @ParameterizedTest
    @MethodSource("backends")
    void ablateRemovesTheProjection(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C);
        x = nchw(ops, new Intervention(Operator.ABLATE, v, null, 1f, false), x);
        for (int base : nchwTokens()) assertEquals(0, projection(x, base, HW, v), 1e-5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void addShiftsTheProjectionByStrengthTimesNorm(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * HW * C), v = random(r, C), before = x.clone();
        int[] tokens = new int[B * HW];
        for (int t = 0; t < tokens.length; t++) tokens[t] = t * C;   // NLC: stride 1
        x = nlc(ops, new Intervention(Operator.ADD, v, null, 3f, false), x);
        double vn = Math.sqrt(projection(v, 0, 1, v) * projection(v, 0, 1, v));
        for (int base : tokens) assertEquals(projection(before, base, 1, v) + 3 * vn, projection(x, base, 1, v), 1e-4);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void strengthZeroIsBitIdentical(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] v = random(r, C);
        Transport t = Transport.mean(new float[][] {random(r, C)}, new float[][] {random(r, C)});
        for (Operator op : Operator.values()) {
            float[] x = random(r, B * C * HW), copy = x.clone();
            x = nchw(ops, new Intervention(op, op == Operator.ACT ? null : v, op == Operator.ACT ? t : null, 0f, true), x);
            assertArrayEquals(copy, x, op.toString());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gatedRemovesOnlyPositiveProjections(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C), before = x.clone();
        x = nchw(ops, new Intervention(Operator.GATED, v, null, 1f, false), x);
        for (int base : nchwTokens()) {
            double p0 = projection(before, base, HW, v), p1 = projection(x, base, HW, v);
            assertEquals(p0 > 0 ? 0 : p0, p1, 1e-5);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void clampSetsTheProjectionToTheVectorsLevel(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C);
        x = nchw(ops, new Intervention(Operator.CLAMP, v, null, 1f, false), x);
        double vn = projection(v, 0, 1, v);
        for (int base : nchwTokens()) assertEquals(vn, projection(x, base, HW, v), 1e-4);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void normPreservationHoldsPerToken(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[] x = random(r, B * C * HW), v = random(r, C), before = x.clone();
        x = nchw(ops, new Intervention(Operator.ADD, v, null, 5f, true), x);
        boolean changed = false;
        for (int base : nchwTokens()) {
            double n0 = 0, n1 = 0;
            for (int j = 0; j < C; j++) { n0 += before[base + j * HW] * before[base + j * HW]; n1 += x[base + j * HW] * x[base + j * HW]; }
            assertEquals(Math.sqrt(n0), Math.sqrt(n1), 1e-4 * Math.sqrt(n0));
            changed |= x[base] != before[base];
        }
        assertTrue(changed);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void actMapsEachChannelInsideItsSupportOnTheChosenRowsOnly(Backend ops) {
        Random r = new Random(System.nanoTime());
        float[][] source = new float[6][], target = new float[6][];
        for (int i = 0; i < 6; i++) { source[i] = random(r, C); target[i] = random(r, C); }
        Transport t = Transport.linear(source, target);
        float[] x = random(r, B * HW * C);
        Intervention iv = new Intervention(Operator.ACT, null, t, 0.6f, false);
        float[] y = ops.toHost(iv.apply(ops, Tensor.of(x.clone(), B, HW, C), TapLayout.NLC, new int[] {1}));
        int inside = 0;
        for (int i = 0; i < x.length; i++) {
            boolean chosen = i / (HW * C) == 1;
            float want = chosen ? t.apply(i % C, x[i], 0.6f) : x[i];
            if (chosen && want != x[i]) inside++;
            assertEquals(want, y[i], 1e-5f * Math.max(1, Math.abs(want)), "value " + i);
        }
        assertTrue(inside > 0, "no value fell inside the transport's support");
    }
}
