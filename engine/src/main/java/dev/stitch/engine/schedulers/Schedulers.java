package dev.stitch.engine.schedulers;

import dev.stitch.kernels.ParameterError;
import dev.stitch.engine.random.NoiseSource;

/** Makes a scheduler of a {@link SchedulerKind}, and the timestep arithmetic the schedulers share. */
public final class Schedulers {
    private Schedulers() {}

    /**
     * A scheduler set up for {@code steps} denoising steps. {@code cfg} is the model's scheduler config with the
     * request's settings applied ({@link SchedulerConfig#withTimestepSpacing}, {@link SchedulerConfig#withPrediction});
     * {@code noise} feeds the ancestral sampler (pass the generator that drew the initial latents, as diffusers does)
     * and may be null for the others.
     */
    public static Scheduler create(SchedulerKind kind, SchedulerConfig cfg, int steps, NoiseSource noise) {
        return switch (kind) {
            case DDIM -> new Ddim(cfg, steps);
            case PNDM -> new Pndm(cfg, steps);
            case EULER -> new EulerDiscrete(cfg, steps);
            case EULER_ANCESTRAL -> {
                if (noise == null) throw new IllegalArgumentException("euler-a needs a noise source");
                yield new EulerAncestral(cfg, steps, noise);
            }
            case DPM_SOLVER_MULTISTEP -> new DpmSolverMultistep(cfg, steps);
        };
    }

    static void checkSteps(int steps, int trainSteps) {
        if (steps < 1) throw new ParameterError("steps", steps, "must be at least 1");
        if (steps > trainSteps) throw new ParameterError("steps", steps, "is more than the model's " + trainSteps + " training timesteps");
    }

    /**
     * Integer timesteps, largest first, for {@code steps} steps as diffusers' DDIM computes them (PNDM uses the same
     * values ascending): linspace = rounded {@code linspace(0, T-1, N)}; leading = {@code i * (T / N) + steps_offset};
     * trailing = rounded {@code arange(T, 0, -T/N) - 1}.
     */
    static int[] discreteTimesteps(TimestepSpacing spacing, int trainSteps, int steps, int stepsOffset) {
        double[] t = switch (spacing) {
            case LINSPACE -> Np.reverse(Np.round(Np.linspace(0, trainSteps - 1, steps)));
            case LEADING -> {
                double[] v = new double[steps];
                for (int i = 0; i < steps; i++) v[i] = (double) (steps - 1 - i) * (trainSteps / steps) + stepsOffset;
                yield v;
            }
            case TRAILING -> {
                double[] v = Np.round(Np.arange(trainSteps, 0, -(double) trainSteps / steps));
                for (int i = 0; i < v.length; i++) v[i] -= 1;
                yield v;
            }
        };
        int[] out = new int[t.length];
        for (int i = 0; i < out.length; i++) out[i] = (int) t[i];
        return out;
    }

    static float[] toFloats(int[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    /** Variance-preserving noising: {@code sqrt(a) * x + sqrt(1 - a) * noise} with a = alphas_cumprod[t]. */
    static float[] addNoiseVp(float alphaCumprod, float[] original, float[] noise) {
        float sa = NoiseSchedule.sqrt(alphaCumprod), sb = NoiseSchedule.sqrt(1f - alphaCumprod);
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = sa * original[i] + sb * noise[i];
        return out;
    }
}
