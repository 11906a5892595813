package dev.stitch.engine.schedulers;

import static dev.stitch.engine.schedulers.NoiseSchedule.sqrt;

/**
 * Euler's method on the probability-flow ODE in sigma space (k-diffusion's sampler), as diffusers 0.25.1's
 * {@code EulerDiscreteScheduler} with {@code s_churn = 0}: fractional timesteps (default spacing "linspace"), sigmas
 * interpolated linearly from the training schedule, a final sigma of 0, inputs scaled by {@code 1 / sqrt(sigma^2 + 1)}.
 */
public final class EulerDiscrete implements Scheduler {
    private final Prediction prediction;
    private final float[] timesteps;
    private final float[] sigmas;  // one per step, then 0
    private final float initNoiseSigma;

    public EulerDiscrete(SchedulerConfig cfg, int steps) {
        NoiseSchedule schedule = NoiseSchedule.from(cfg);
        prediction = cfg.prediction();
        cfg.choice("interpolation_type", "linear");
        cfg.choice("timestep_type", "discrete");
        cfg.requireBool("use_karras_sigmas", false, false);
        TimestepSpacing spacing = cfg.timestepSpacing(SchedulerKind.EULER.defaultSpacing);
        Schedulers.checkSteps(steps, schedule.numTrainTimesteps);
        timesteps = timesteps(spacing, schedule.numTrainTimesteps, steps, cfg.integer("steps_offset", 0));
        sigmas = sigmas(timesteps, schedule);
        initNoiseSigma = initNoiseSigma(sigmas, spacing);
    }

    /** The timesteps of both Euler schedulers: linspace unrounded in float32, leading and trailing as DDIM's. */
    static float[] timesteps(TimestepSpacing spacing, int trainSteps, int steps, int stepsOffset) {
        if (spacing == TimestepSpacing.LINSPACE) {
            double[] t = Np.reverse(Np.linspace(0, trainSteps - 1, steps));
            float[] f = new float[t.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) t[i];
            return f;
        }
        return Schedulers.toFloats(Schedulers.discreteTimesteps(spacing, trainSteps, steps, stepsOffset));
    }

    /** {@code np.interp(timesteps, arange(T), training sigmas)} in float64, stored as float32, then a final 0. */
    static float[] sigmas(float[] timesteps, NoiseSchedule schedule) {
        float[] s = new float[timesteps.length + 1];
        for (int i = 0; i < timesteps.length; i++) s[i] = (float) Np.interp(timesteps[i], schedule.sigmas);
        return s;
    }

    /** diffusers 0.25.1: the largest sigma for linspace and trailing spacing, {@code sqrt(max^2 + 1)} for leading. */
    static float initNoiseSigma(float[] sigmas, TimestepSpacing spacing) {
        float max = 0f;
        for (float s : sigmas) max = Math.max(max, s);
        return spacing == TimestepSpacing.LEADING ? sqrt(max * max + 1f) : max;
    }

    /** {@code sample / sqrt(sigma^2 + 1)}, shared with the ancestral sampler. */
    static float[] scale(float[] sample, float sigma) {
        float d = sqrt(sigma * sigma + 1f);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] / d;
        return out;
    }

    /** The denoised estimate x0 at noise level sigma. */
    static float predictOriginal(Prediction prediction, float m, float x, float sigma) {
        if (prediction == Prediction.EPSILON) return x - sigma * m;
        float s2 = sigma * sigma + 1f;
        return m * (-sigma / sqrt(s2)) + x / s2;
    }

    @Override
    public float[] timesteps() { return timesteps.clone(); }

    /** One sigma per step followed by 0 (diffusers' {@code scheduler.sigmas}). */
    public float[] sigmas() { return sigmas.clone(); }

    @Override
    public float initNoiseSigma() { return initNoiseSigma; }

    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) { return scale(sample, sigmas[stepIndex]); }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample) {
        float sigma = sigmas[stepIndex], dt = sigmas[stepIndex + 1] - sigma;
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float x = sample[i];
            float derivative = (x - predictOriginal(prediction, modelOutput[i], x, sigma)) / sigma;
            out[i] = x + derivative * dt;
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
