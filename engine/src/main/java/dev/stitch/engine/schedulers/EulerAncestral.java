package dev.stitch.engine.schedulers;

import dev.stitch.engine.random.NoiseSource;

import static dev.stitch.engine.schedulers.NoiseSchedule.sqrt;

/**
 * Ancestral Euler (k-diffusion's {@code sample_euler_ancestral}), as diffusers 0.25.1's
 * {@code EulerAncestralDiscreteScheduler}: each step goes down to {@code sigma_down} deterministically, then adds
 * fresh noise of size {@code sigma_up}. Timesteps, sigmas and input scaling are Euler's. One {@code randn} of the
 * sample's size is drawn per step, also on the last step where it is multiplied by 0, as diffusers does, so a torch
 * generator stays in step with diffusers'.
 */
public final class EulerAncestral implements Scheduler {
    private final Prediction prediction;
    private final float[] timesteps;
    private final float[] sigmas;
    private final float initNoiseSigma;
    private final NoiseSource noise;

    public EulerAncestral(SchedulerConfig cfg, int steps, NoiseSource noise) {
        NoiseSchedule schedule = NoiseSchedule.from(cfg);
        prediction = cfg.prediction();
        TimestepSpacing spacing = cfg.timestepSpacing(SchedulerKind.EULER_ANCESTRAL.defaultSpacing);
        Schedulers.checkSteps(steps, schedule.numTrainTimesteps);
        timesteps = EulerDiscrete.timesteps(spacing, schedule.numTrainTimesteps, steps, cfg.integer("steps_offset", 0));
        sigmas = EulerDiscrete.sigmas(timesteps, schedule);
        initNoiseSigma = EulerDiscrete.initNoiseSigma(sigmas, spacing);
        this.noise = noise;
    }

    @Override
    public float[] timesteps() { return timesteps.clone(); }

    public float[] sigmas() { return sigmas.clone(); }

    @Override
    public float initNoiseSigma() { return initNoiseSigma; }

    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) { return EulerDiscrete.scale(sample, sigmas[stepIndex]); }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample) {
        float sigma = sigmas[stepIndex], to = sigmas[stepIndex + 1];
        float from2 = sigma * sigma, to2 = to * to;
        float up = sqrt(to2 * (from2 - to2) / from2);
        float down = sqrt(to2 - up * up);
        float dt = down - sigma;
        float[] z = noise.randn(sample.length);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float x = sample[i];
            float derivative = (x - EulerDiscrete.predictOriginal(prediction, modelOutput[i], x, sigma)) / sigma;
            float prev = x + derivative * dt;
            out[i] = prev + z[i] * up;
        }
        return out;
    }

    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        float sigma = sigmas[stepIndex];
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = original[i] + noise[i] * sigma;
        return out;
    }
}
