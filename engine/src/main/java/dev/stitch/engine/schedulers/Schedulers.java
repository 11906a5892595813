package dev.stitch.engine.schedulers;

import dev.stitch.engine.random.NoiseSource;
import dev.stitch.kernels.UserError;

import java.util.List;

/** Makes a scheduler by its command-line name, and the timestep arithmetic the schedulers share. */
public final class Schedulers {
    /** The names {@link #create} accepts, as {@code --scheduler} spells them. */
    public static final List<String> NAMES = List.of("ddim", "pndm", "euler", "euler-a", "dpm++2m");

    private Schedulers() {}

    /**
     * A scheduler set up for {@code steps} denoising steps. {@code cfg} is the model's scheduler config with any
     * command-line overrides applied ({@link SchedulerConfig#withTimestepSpacing}, {@link SchedulerConfig#withPrediction});
     * {@code noise} feeds the ancestral sampler (pass the generator that drew the initial latents, as diffusers does)
     * and may be null for the others.
     */
    public static Scheduler create(String name, SchedulerConfig cfg, int steps, NoiseSource noise) {
        return switch (name) {
            case "ddim" -> new Ddim(cfg, steps);
            case "pndm" -> new Pndm(cfg, steps);
            case "euler" -> new EulerDiscrete(cfg, steps);
            case "euler-a" -> {
                if (noise == null) throw new IllegalArgumentException("euler-a needs a noise source");
                yield new EulerAncestral(cfg, steps, noise);
            }
            case "dpm++2m" -> new DpmSolverMultistep(cfg, steps);
            default -> throw new UserError("--scheduler: unknown scheduler '" + name + "' (expected one of " + String.join(", ", NAMES) + ")");
        };
    }

    /** The scheduler a model's config names ({@code _class_name}), as a {@link #create} name; DDIM when it names none. */
    public static String nameOf(SchedulerConfig cfg) {
        String cls = cfg.className();
        if (cls == null) return "ddim";
        return switch (cls) {
            case "DDIMScheduler" -> "ddim";
            case "PNDMScheduler" -> "pndm";
            case "EulerDiscreteScheduler" -> "euler";
            case "EulerAncestralDiscreteScheduler" -> "euler-a";
            case "DPMSolverMultistepScheduler" -> "dpm++2m";
            default -> throw new UserError(cfg.source() + ": scheduler " + cls + " is not supported; choose one with --scheduler ("
                + String.join(", ", NAMES) + ")");
        };
    }

    static void checkSteps(int steps, int trainSteps) {
        if (steps < 1) throw new UserError("--steps must be at least 1, got " + steps);
        if (steps > trainSteps) throw new UserError("--steps " + steps + " is more than the model's " + trainSteps + " training timesteps");
    }

    /**
     * Integer timesteps, largest first, for {@code steps} steps as diffusers' DDIM computes them (PNDM uses the same
     * values ascending): linspace = rounded {@code linspace(0, T-1, N)}; leading = {@code i * (T / N) + steps_offset};
     * trailing = rounded {@code arange(T, 0, -T/N) - 1}.
     */
    static int[] discreteTimesteps(String spacing, int trainSteps, int steps, int stepsOffset) {
        double[] t = switch (spacing) {
            case "linspace" -> Np.reverse(Np.round(Np.linspace(0, trainSteps - 1, steps)));
            case "leading" -> {
                double[] v = new double[steps];
                for (int i = 0; i < steps; i++) v[i] = (double) (steps - 1 - i) * (trainSteps / steps) + stepsOffset;
                yield v;
            }
            default -> {
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
