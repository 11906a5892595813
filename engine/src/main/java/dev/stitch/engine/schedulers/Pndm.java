package dev.stitch.engine.schedulers;

import java.util.ArrayList;
import java.util.List;

import static dev.stitch.engine.schedulers.NoiseSchedule.sqrt;

/**
 * Pseudo numerical methods (PNDM), as diffusers 0.25.1's {@code PNDMScheduler}. With {@code skip_prk_steps} (what
 * the Stable Diffusion configs set) it is PLMS: a linear multistep method whose first step is repeated at the same
 * timestep (a Heun-like start), so N steps make N + 1 UNet calls. Without it, diffusers' default, 12 Runge-Kutta
 * calls over the first three steps come first. Float32 arithmetic in diffusers' order.
 */
public final class Pndm implements Scheduler {
    private final NoiseSchedule schedule;
    private final Prediction prediction;
    private final float finalAlphaCumprod;
    private final boolean skipPrk;
    private final int stride;
    private final int[] prkTimesteps, timesteps;

    // Running state, as in diffusers: call counter, past model outputs, the Runge-Kutta partial sums.
    private int counter;
    private final List<float[]> ets = new ArrayList<>();
    private float[] curModelOutput;
    private float[] curSample;

    public Pndm(SchedulerConfig cfg, int steps) {
        schedule = NoiseSchedule.from(cfg);
        prediction = cfg.prediction();
        finalAlphaCumprod = cfg.bool("set_alpha_to_one", false) ? 1f : schedule.alphasCumprod[0];
        skipPrk = cfg.bool("skip_prk_steps", false);
        int trainSteps = schedule.numTrainTimesteps;
        Schedulers.checkSteps(steps, trainSteps);
        stride = trainSteps / steps;
        int[] desc = Schedulers.discreteTimesteps(cfg.timestepSpacing(SchedulerKind.PNDM.defaultSpacing),
            trainSteps, steps, cfg.integer("steps_offset", 0));
        int n = desc.length;
        if (skipPrk) {
            // ascending [t0 .. t(n-2), t(n-2), t(n-1)] reversed: the largest timestep, then the second one twice.
            // (A single step has nothing to repeat.)
            prkTimesteps = new int[0];
            timesteps = new int[n == 1 ? 1 : n + 1];
            timesteps[0] = desc[0];
            for (int i = 1; i < n; i++) timesteps[i + 1] = desc[i];
            if (n > 1) timesteps[1] = desc[1];
        } else {
            if (n < 4) throw cfg.unsupported("skip_prk_steps", "false", "PNDM's Runge-Kutta start needs at least 4 steps; set skip_prk_steps to true");
            // The 4 largest timesteps, each followed by its half step, expanded into the 12 Runge-Kutta calls.
            int half = stride / 2;
            int[] pairs = new int[8];
            for (int k = 0; k < 4; k++) {
                pairs[2 * k] = desc[3 - k];
                pairs[2 * k + 1] = desc[3 - k] + half;
            }
            int[] rep = new int[14];
            for (int k = 0; k < 7; k++) rep[2 * k] = rep[2 * k + 1] = pairs[k];
            prkTimesteps = new int[12];
            for (int k = 0; k < 12; k++) prkTimesteps[k] = rep[12 - k];
            timesteps = new int[12 + n - 3];
            System.arraycopy(prkTimesteps, 0, timesteps, 0, 12);
            System.arraycopy(desc, 3, timesteps, 12, n - 3);
        }
        for (int t : timesteps) schedule.alphaCumprod(t);
    }

    @Override
    public float[] timesteps() { return Schedulers.toFloats(timesteps); }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample) {
        int t = timesteps[stepIndex];
        return counter < prkTimesteps.length && !skipPrk ? stepPrk(modelOutput, t, sample) : stepPlms(modelOutput, t, sample);
    }

    private float[] stepPrk(float[] m, int t, float[] sample) {
        int prev = t - (counter % 2 == 1 ? 0 : stride / 2);
        int from = prkTimesteps[counter / 4 * 4];
        float[] eps = m;
        switch (counter % 4) {
            case 0 -> {
                curModelOutput = axpy(curModelOutput, (float) (1.0 / 6), m);
                ets.add(m);
                curSample = sample;
            }
            case 1, 2 -> curModelOutput = axpy(curModelOutput, (float) (1.0 / 3), m);
            default -> {
                eps = axpy(curModelOutput, (float) (1.0 / 6), m);
                curModelOutput = null;
            }
        }
        float[] out = prevSample(curSample != null ? curSample : sample, from, prev, eps);
        counter++;
        return out;
    }

    private float[] stepPlms(float[] m, int t, float[] sample) {
        int prev = t - stride;
        if (counter != 1) {
            while (ets.size() > 3) ets.removeFirst();
            ets.add(m);
        } else {
            prev = t;
            t = t + stride;
        }
        int n = ets.size();
        float[] eps = new float[m.length];
        if (n == 1 && counter == 0) {
            eps = m;
            curSample = sample;
        } else if (n == 1 && counter == 1) {
            float[] e1 = ets.get(0);
            for (int i = 0; i < eps.length; i++) eps[i] = (m[i] + e1[i]) / 2f;
            sample = curSample;
            curSample = null;
        } else if (n == 2) {
            float[] e1 = ets.get(1), e2 = ets.get(0);
            for (int i = 0; i < eps.length; i++) eps[i] = (3f * e1[i] - e2[i]) / 2f;
        } else if (n == 3) {
            float[] e1 = ets.get(2), e2 = ets.get(1), e3 = ets.get(0);
            for (int i = 0; i < eps.length; i++) eps[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
        } else {
            float[] e1 = ets.get(3), e2 = ets.get(2), e3 = ets.get(1), e4 = ets.get(0);
            float c = (float) (1.0 / 24);
            for (int i = 0; i < eps.length; i++) eps[i] = c * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
        }
        float[] out = prevSample(sample, t, prev, eps);
        counter++;
        return out;
    }

    /** {@code acc + c * x} (acc null = 0), as diffusers' {@code cur_model_output += c * model_output}. */
    private static float[] axpy(float[] acc, float c, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) out[i] = acc == null ? c * x[i] : acc[i] + c * x[i];
        return out;
    }

    /** Formula (9) of the PNDM paper: x at {@code prev} from x at {@code t} and the noise estimate. */
    private float[] prevSample(float[] sample, int t, int prev, float[] eps) {
        float a = schedule.alphaCumprod(t);
        float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        float b = 1f - a, bPrev = 1f - aPrev;
        float sampleCoeff = sqrt(aPrev / a);
        float denom = a * sqrt(bPrev) + sqrt(a * b * aPrev);
        float diff = aPrev - a, sa = sqrt(a), sb = sqrt(b);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float e = prediction == Prediction.EPSILON ? eps[i] : sa * eps[i] + sb * sample[i];
            out[i] = sampleCoeff * sample[i] - diff * e / denom;
        }
        return out;
    }

    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        return Schedulers.addNoiseVp(schedule.alphaCumprod(timesteps[stepIndex]), original, noise);
    }
}
