package dev.stitch.engine.schedulers;

import dev.stitch.engine.random.NoiseSource;
import dev.stitch.engine.random.TorchGenerator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The schedulers without a diffusers-made golden (PNDM, Euler ancestral, DPM-Solver++ 2M, and the other timestep
 * spacings) against independent double-precision transcriptions of diffusers 0.25.1's formulas, written here from
 * its {@code scheduling_*.py}, on random model outputs. Timestep lists are worked out by hand from diffusers'
 * {@code set_timesteps} (the working is in each comment).
 */
class SchedulerReferenceTest {
    private static final int N = 2 * 4 * 4 * 6;
    /** The tiny model's config (a DDIMScheduler config from diffusers 0.25.1), inline so this test needs no files. */
    private static final SchedulerConfig SD = SchedulerConfig.parse("""
        {"_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
         "clip_sample": false, "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": false,
         "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": null}""");

    // ---- the reference schedule, in double ----

    private static final double[] AC = alphasCumprod();

    private static double[] alphasCumprod() {
        double[] ac = new double[1000];
        double p = 1, a = Math.sqrt(0.00085), b = Math.sqrt(0.012);
        for (int i = 0; i < 1000; i++) {
            double beta = a + (b - a) * i / 999;
            p *= 1 - beta * beta;
            ac[i] = p;
        }
        return ac;
    }

    private static double sigmaOf(double t) {  // linear interpolation of sqrt((1 - ac) / ac) between integer timesteps
        int j = (int) Math.floor(t);
        double s0 = Math.sqrt((1 - AC[j]) / AC[j]);
        if (j == t) return s0;
        double s1 = Math.sqrt((1 - AC[j + 1]) / AC[j + 1]);
        return s0 + (s1 - s0) * (t - j);
    }

    private static float[] gaussian(Random r) {
        float[] x = new float[N];
        for (int i = 0; i < N; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private static double[] widen(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /** |actual - expected| / max(1, |expected|) over all elements; NaN fails. */
    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), what + ": non-finite at " + i);
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
        }
        assertTrue(worst <= tol, what + ": off by " + worst);
    }

    // ---- timestep lists ----

    @Test
    void timestepLists() {
        // DDIM trailing, N=7: round(arange(1000, 0, -1000/7)) - 1 = round(1000, 857.1, 714.3, 571.4, 428.6, 285.7, 142.9) - 1
        assertArrayEquals(new float[] {999, 856, 713, 570, 428, 285, 142},
            Schedulers.create(SchedulerKind.DDIM, SD.withTimestepSpacing(TimestepSpacing.TRAILING), 7, null).timesteps());
        // DDIM linspace, N=7: linspace(0, 999, 7) = 0, 166.5, 333, 499.5, 666, 832.5, 999, rounded half to even, reversed
        assertArrayEquals(new float[] {999, 832, 666, 500, 333, 166, 0},
            Schedulers.create(SchedulerKind.DDIM, SD.withTimestepSpacing(TimestepSpacing.LINSPACE), 7, null).timesteps());
        // PLMS, leading, N=5: 200 i + 1 ascending = [1, 201, 401, 601, 801]; concat(ts[:-1], ts[-2:-1], ts[-1:]) reversed
        assertArrayEquals(new float[] {801, 601, 601, 401, 201, 1},
            Schedulers.create(SchedulerKind.PNDM, SD.with("skip_prk_steps", true), 5, null).timesteps());
        // PLMS, trailing, N=4: [249, 499, 749, 999] ascending, the second largest repeated
        assertArrayEquals(new float[] {999, 749, 749, 499, 249},
            Schedulers.create(SchedulerKind.PNDM, SD.with("skip_prk_steps", true).withTimestepSpacing(TimestepSpacing.TRAILING), 4, null).timesteps());
        // PNDM with its Runge-Kutta start (skip_prk_steps absent = false), N=5: the 4 largest timesteps [201..801] with
        // their half steps (+100) make [201, 301, 401, ..., 901]; each repeated, first and last dropped, reversed; then
        // the remaining PLMS timesteps [201, 1]
        assertArrayEquals(new float[] {801, 701, 701, 601, 601, 501, 501, 401, 401, 301, 301, 201, 201, 1},
            Schedulers.create(SchedulerKind.PNDM, SD, 5, null).timesteps());
        // Euler, leading, N=7: 142 i reversed, + steps_offset
        assertArrayEquals(new float[] {853, 711, 569, 427, 285, 143, 1}, Schedulers.create(SchedulerKind.EULER, SD, 7, null).timesteps());
        // DPM++, leading (inherited from this config), N=5: 1000 // 6 = 166; [830, 664, 498, 332, 166, (0 dropped)] + 1
        assertArrayEquals(new float[] {831, 665, 499, 333, 167}, Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, SD, 5, null).timesteps());
        // DPM++, linspace, N=8: linspace(0, 999, 9) = 124.875 i, rounded half to even (499.5 -> 500), reversed, 0 dropped
        assertArrayEquals(new float[] {999, 874, 749, 624, 500, 375, 250, 125},
            Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, SD.withTimestepSpacing(TimestepSpacing.LINSPACE), 8, null).timesteps());
    }

    @Test
    void eulerInitNoiseSigmaDependsOnSpacing() {
        // diffusers 0.25.1: max sigma for linspace/trailing, sqrt(max^2 + 1) for leading
        float lin = Schedulers.create(SchedulerKind.EULER, SD.withTimestepSpacing(TimestepSpacing.LINSPACE), 6, null).initNoiseSigma();
        assertEquals(sigmaOf(999), lin, 1e-5);
        float lead = Schedulers.create(SchedulerKind.EULER, SD, 7, null).initNoiseSigma();
        assertEquals(Math.sqrt(sigmaOf(853) * sigmaOf(853) + 1), lead, 1e-5);
    }

    // ---- PNDM (PLMS) ----

    /** diffusers' PNDMScheduler._get_prev_sample (formula 9 of the PNDM paper) with an epsilon estimate. */
    private static double[] pndmPrev(double[] x, int t, int prev, double[] eps) {
        double a = AC[t], ap = prev >= 0 ? AC[prev] : AC[0];
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++)
            out[i] = Math.sqrt(ap / a) * x[i] - (ap - a) * eps[i] / (a * Math.sqrt(1 - ap) + Math.sqrt(a * (1 - a) * ap));
        return out;
    }

    @Test
    void plmsMatchesTranscription() {
        for (boolean v : new boolean[] {false, true}) {
            SchedulerConfig cfg = SD.with("skip_prk_steps", true);
            Scheduler s = Schedulers.create(SchedulerKind.PNDM, v ? cfg.withPrediction(Prediction.V_PREDICTION) : cfg, 5, null);
            float[] ts = s.timesteps();
            Random r = new Random(v ? 11 : 10);
            float[] x = gaussian(r);
            double[] ref = widen(x), held = null;
            List<double[]> ets = new ArrayList<>();
            for (int k = 0; k < ts.length; k++) {
                float[] m = gaussian(r);
                x = s.step(m, k, x);
                int t = (int) ts[k], from = t, to = t - 200;
                double[] sample = ref, c = new double[N];  // c: the combined raw model output
                if (k == 0) {
                    c = widen(m);
                    held = ref;
                    ets.add(widen(m));
                } else if (k == 1) {  // the same step again, from the held sample, with the average of both outputs
                    for (int i = 0; i < N; i++) c[i] = (m[i] + ets.get(0)[i]) / 2;
                    from = t + 200;
                    to = t;
                    sample = held;
                } else {
                    ets.add(widen(m));
                    int n = Math.min(ets.size(), 4);
                    double[] e1 = ets.get(ets.size() - 1), e2 = ets.get(ets.size() - 2);
                    double[] e3 = n > 2 ? ets.get(ets.size() - 3) : null, e4 = n > 3 ? ets.get(ets.size() - 4) : null;
                    for (int i = 0; i < N; i++)
                        c[i] = n == 2 ? (3 * e1[i] - e2[i]) / 2
                            : n == 3 ? (23 * e1[i] - 16 * e2[i] + 5 * e3[i]) / 12
                            : (55 * e1[i] - 59 * e2[i] + 37 * e3[i] - 9 * e4[i]) / 24;
                }
                double[] eps = c.clone();  // v -> epsilon at the step's starting timestep
                if (v) for (int i = 0; i < N; i++) eps[i] = Math.sqrt(AC[from]) * c[i] + Math.sqrt(1 - AC[from]) * sample[i];
                ref = pndmPrev(sample, from, to, eps);
                assertClose(ref, x, 1e-5, "plms " + (v ? "v" : "eps") + " step " + k);
            }
        }
    }

    // ---- Euler ancestral ----

    @Test
    void eulerAncestralMatchesTranscription() {
        for (boolean v : new boolean[] {false, true}) {
            SchedulerConfig cfg = SD.withTimestepSpacing(TimestepSpacing.LINSPACE);
            List<float[]> drawn = new ArrayList<>();
            TorchGenerator gen = new TorchGenerator(7);
            NoiseSource recording = n -> {
                float[] z = gen.randn(n);
                drawn.add(z);
                return z;
            };
            Scheduler s = Schedulers.create(SchedulerKind.EULER_ANCESTRAL, v ? cfg.withPrediction(Prediction.V_PREDICTION) : cfg, 6, recording);
            float[] ts = s.timesteps();
            // linspace(0, 999, 6) reversed: 999, 799.2, 599.4, 399.6, 199.8, 0
            assertArrayEquals(new float[] {999f, 799.2f, 599.4f, 399.6f, 199.8f, 0f}, ts);
            Random r = new Random(v ? 21 : 20);
            float[] x = gaussian(r);
            for (int i = 0; i < N; i++) x[i] *= s.initNoiseSigma();
            double[] ref = widen(x);
            for (int k = 0; k < ts.length; k++) {
                double sigma = sigmaOf(ts[k]), to = k + 1 < ts.length ? sigmaOf(ts[k + 1]) : 0;
                float[] in = s.scaleModelInput(x, k);
                double[] refIn = new double[N];
                for (int i = 0; i < N; i++) refIn[i] = ref[i] / Math.sqrt(sigma * sigma + 1);
                assertClose(refIn, in, 1e-5, "euler-a input " + k);
                float[] m = gaussian(r);
                x = s.step(m, k, x);
                float[] z = drawn.get(k);
                double up = Math.sqrt(to * to * (sigma * sigma - to * to) / (sigma * sigma)), down = Math.sqrt(to * to - up * up);
                double[] next = new double[N];
                for (int i = 0; i < N; i++) {
                    double x0 = v ? m[i] * (-sigma / Math.sqrt(sigma * sigma + 1)) + ref[i] / (sigma * sigma + 1) : ref[i] - sigma * m[i];
                    next[i] = ref[i] + (ref[i] - x0) / sigma * (down - sigma) + z[i] * up;
                }
                ref = next;
                assertClose(ref, x, 1e-5, "euler-a " + (v ? "v" : "eps") + " step " + k);
            }
            assertEquals(ts.length, drawn.size(), "one noise draw per step, as diffusers");
        }
    }

    // ---- DPM-Solver++ (2M) ----

    @Test
    void dpmSolverMatchesTranscription() {
        for (boolean v : new boolean[] {false, true}) {
            Scheduler s = Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, v ? SD.withPrediction(Prediction.V_PREDICTION) : SD, 6, null);
            float[] ts = s.timesteps();
            double[] sig = new double[ts.length + 1];
            for (int k = 0; k < ts.length; k++) sig[k] = sigmaOf(ts[k]);
            sig[ts.length] = sigmaOf(0);  // diffusers 0.25.1 ends on sigma(t=0), not 0
            Random r = new Random(v ? 31 : 30);
            float[] x = gaussian(r);
            double[] ref = widen(x), prevX0 = null;
            for (int k = 0; k < ts.length; k++) {
                float[] m = gaussian(r);
                x = s.step(m, k, x);
                double a0 = 1 / Math.sqrt(sig[k] * sig[k] + 1), s0 = sig[k] * a0;
                double at = 1 / Math.sqrt(sig[k + 1] * sig[k + 1] + 1), st = sig[k + 1] * at;
                double l0 = Math.log(a0 / s0), lt = Math.log(at / st), h = lt - l0;
                double[] x0 = new double[N], next = new double[N];
                for (int i = 0; i < N; i++) x0[i] = v ? a0 * ref[i] - s0 * m[i] : (ref[i] - s0 * m[i]) / a0;
                boolean firstOrder = k == 0 || k == ts.length - 1;  // no history yet / lower_order_final (< 15 steps)
                double r0 = 0;
                if (!firstOrder) {
                    double a1 = 1 / Math.sqrt(sig[k - 1] * sig[k - 1] + 1);
                    r0 = (l0 - Math.log(a1 / (sig[k - 1] * a1))) / h;
                }
                for (int i = 0; i < N; i++) {
                    next[i] = st / s0 * ref[i] - at * (Math.exp(-h) - 1) * x0[i];
                    if (!firstOrder) next[i] -= 0.5 * at * (Math.exp(-h) - 1) * (x0[i] - prevX0[i]) / r0;
                }
                prevX0 = x0;
                ref = next;
                assertClose(ref, x, 1e-5, "dpm++2m " + (v ? "v" : "eps") + " step " + k);
            }
        }
    }

    @Test
    void addNoiseMatchesEachSchedulersNoiseLevel() {
        Random r = new Random(40);
        float[] x0 = gaussian(r), z = gaussian(r);
        // DDIM/PNDM: sqrt(ac[t]) x + sqrt(1 - ac[t]) z at the step's timestep (801 for N=5, leading, offset 1)
        double[] ddim = new double[N];
        for (int i = 0; i < N; i++) ddim[i] = Math.sqrt(AC[801]) * x0[i] + Math.sqrt(1 - AC[801]) * z[i];
        assertClose(ddim, Schedulers.create(SchedulerKind.DDIM, SD, 5, null).addNoise(x0, z, 0), 1e-5, "ddim addNoise");
        // Euler: x + sigma z
        double sigma = sigmaOf(599.4);
        double[] euler = new double[N];
        for (int i = 0; i < N; i++) euler[i] = x0[i] + sigma * z[i];
        assertClose(euler, Schedulers.create(SchedulerKind.EULER, SD.withTimestepSpacing(TimestepSpacing.LINSPACE), 6, null).addNoise(x0, z, 2), 1e-5, "euler addNoise");
    }
}
