package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Tensor;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU backend gives the same bits every time, before and after the JIT compiles its loops: steering files and
 * batches must be repeatable. (The Vector API's lanewise EXP and reduceLanes(ADD) round differently once compiled;
 * the backend uses its own exp and a fixed lane order instead.)
 */
class RepeatabilityTest {
    private static final CpuBackend CPU = new CpuBackend(2, false);

    @Test
    void expIsAccurateOverTheFloatRange() {
        int l = Gemm.S.length();
        float[] x = new float[l], y = new float[l];
        double worst = 0;
        Random r = new Random(7);
        for (int it = 0; it < 20_000; it++) {
            for (int i = 0; i < l; i++) x[i] = (float) (r.nextDouble() * 175 - 87);
            Pointwise.exp(FloatVector.fromArray(Gemm.S, x, 0)).intoArray(y, 0);
            for (int i = 0; i < l; i++) {
                double e = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(y[i] - e) / e);
            }
        }
        assertTrue(worst < 3e-7, "relative error " + worst);
        float[] edge = new float[l];
        float[] in = {Float.NEGATIVE_INFINITY, -200f, -100f, 0f, 89f, Float.POSITIVE_INFINITY, Float.NaN, -1e-30f};
        System.arraycopy(in, 0, edge, 0, Math.min(l, in.length));
        Pointwise.exp(FloatVector.fromArray(Gemm.S, edge, 0)).intoArray(y, 0);
        float[] want = {0f, 0f, (float) Math.exp(-100), 1f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1f};
        for (int i = 0; i < Math.min(l, in.length); i++) {
            if (Float.isNaN(want[i])) assertTrue(Float.isNaN(y[i]), "exp(NaN)");
            else if (want[i] == 0 || Float.isInfinite(want[i])) assertEquals(want[i], y[i], "exp(" + in[i] + ")");
            else assertEquals(want[i], y[i], want[i] * 3e-7, "exp(" + in[i] + ")");
        }
    }

    @Test
    void opsRepeatBitForBitWhileTheJitWarmsUp() {
        Random r = new Random(3);
        float[] x = new float[65_536];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian() * 3 + 0.5f;
        int rows = 1024, c = 64;
        float[] g = new float[c], b = new float[c];
        for (int i = 0; i < c; i++) { g[i] = 1 + 0.1f * i; b[i] = 0.01f * i; }
        float[][] first = new float[5][];
        for (int it = 0; it < 300; it++) {
            float[][] now = {
                CPU.toHost(CPU.silu(Tensor.of(x, x.length))),
                CPU.toHost(CPU.gelu(Tensor.of(x, x.length))),
                CPU.toHost(CPU.layerNorm(Tensor.of(x, rows, c), Tensor.of(g, c), Tensor.of(b, c), 1e-5f)),
                CPU.toHost(CPU.groupNorm(Tensor.of(x, 4, c, 16, 16), 8, Tensor.of(g, c), Tensor.of(b, c), 1e-5f, true)),
                CPU.toHost(CPU.attention(Tensor.of(x, 4, 128, 128), Tensor.of(x, 4, 128, 128), Tensor.of(x, 4, 128, 128), 4, 0.125f, false)),
            };
            for (int k = 0; k < now.length; k++) {
                if (first[k] == null) first[k] = now[k].clone();
                else assertArrayEquals(first[k], now[k], "op " + k + " changed at call " + it);
            }
        }
    }
}
