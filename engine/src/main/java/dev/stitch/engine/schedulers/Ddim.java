package dev.stitch.engine.schedulers;

import static dev.stitch.engine.schedulers.NoiseSchedule.sqrt;

/**
 * DDIM with eta 0 (deterministic), as diffusers 0.25.1's {@code DDIMScheduler}: integer timesteps; each step predicts
 * x0 and moves to the previous timestep {@code t - T / N} (also with linspace or trailing spacing, where that is not
 * the next listed timestep: diffusers does so). Arithmetic in float32 in diffusers' order, so results match torch's.
 */
public final class Ddim implements Scheduler {
    private final NoiseSchedule schedule;
    private final Prediction prediction;
    private final int[] timesteps;
    private final int stride;
    private final float finalAlphaCumprod;
    private final boolean clipSample;
    private final float clipRange;

    public Ddim(SchedulerConfig cfg, int steps) {
        cfg.requireBool("thresholding", false, false);
        schedule = NoiseSchedule.from(cfg);
        prediction = cfg.prediction();
        clipSample = cfg.bool("clip_sample", true);
        clipRange = (float) cfg.number("clip_sample_range", 1.0);
        if (!(clipRange > 0) || Float.isInfinite(clipRange))
            throw cfg.unsupported("clip_sample_range", String.valueOf(clipRange), "expected a positive number");
        finalAlphaCumprod = cfg.bool("set_alpha_to_one", true) ? 1f : schedule.alphasCumprod[0];
        int trainSteps = schedule.numTrainTimesteps;
        Schedulers.checkSteps(steps, trainSteps);
        stride = trainSteps / steps;
        timesteps = Schedulers.discreteTimesteps(cfg.timestepSpacing(SchedulerKind.DDIM.defaultSpacing),
            trainSteps, steps, cfg.integer("steps_offset", 0));
        for (int t : timesteps) schedule.alphaCumprod(t);  // refuse out-of-range settings now, not mid-run
    }

    @Override
    public float[] timesteps() { return Schedulers.toFloats(timesteps); }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample) {
        int t = timesteps[stepIndex], prev = t - stride;
        float a = schedule.alphaCumprod(t);
        float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        float sa = sqrt(a), sb = sqrt(1f - a), saPrev = sqrt(aPrev), sbPrev = sqrt(1f - aPrev);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float x = sample[i], m = modelOutput[i], x0, eps;
            if (prediction == Prediction.EPSILON) {
                x0 = (x - sb * m) / sa;
                eps = m;
            } else {
                x0 = sa * x - sb * m;
                eps = sa * m + sb * x;
            }
            if (clipSample) x0 = Math.clamp(x0, -clipRange, clipRange);
            out[i] = saPrev * x0 + sbPrev * eps;
        }
        return out;
    }

    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        return Schedulers.addNoiseVp(schedule.alphaCumprod(timesteps[stepIndex]), original, noise);
    }
}
