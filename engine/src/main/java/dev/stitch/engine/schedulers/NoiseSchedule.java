package dev.stitch.engine.schedulers;

import dev.stitch.kernels.UserError;

/**
 * The training noise schedule every scheduler starts from: betas, then {@code alphas_cumprod}, exactly as diffusers
 * computes them with torch in float32 (torch's {@code cumprod} keeps a double running product and stores each value
 * as float). Index = training timestep.
 */
final class NoiseSchedule {
    final int numTrainTimesteps;
    final float[] alphasCumprod;
    /** {@code sqrt((1 - alphas_cumprod) / alphas_cumprod)} in float32: the noise level of each training timestep. */
    final float[] sigmas;

    private NoiseSchedule(float[] alphasCumprod) {
        this.numTrainTimesteps = alphasCumprod.length;
        this.alphasCumprod = alphasCumprod;
        this.sigmas = new float[alphasCumprod.length];
        for (int t = 0; t < sigmas.length; t++) sigmas[t] = sqrt((1f - alphasCumprod[t]) / alphasCumprod[t]);
    }

    /** Models train with 1000; the bound keeps a damaged config from allocating gigabytes of tables. */
    static final int MAX_TRAIN_TIMESTEPS = 100_000;

    /** Reads num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas (diffusers' defaults). */
    static NoiseSchedule from(SchedulerConfig cfg) {
        cfg.requireBool("rescale_betas_zero_snr", false, false);
        int n = cfg.integer("num_train_timesteps", 1000);
        if (n < 2 || n > MAX_TRAIN_TIMESTEPS)
            throw cfg.unsupported("num_train_timesteps", String.valueOf(n), "expected 2 to " + MAX_TRAIN_TIMESTEPS);
        double start = beta(cfg, "beta_start", cfg.number("beta_start", 0.0001)), end = beta(cfg, "beta_end", cfg.number("beta_end", 0.02));
        float[] betas;
        double[] trained = cfg.numbers("trained_betas");
        if (trained != null) {
            if (trained.length < 2) throw cfg.unsupported("trained_betas", trained.length + " values", "expected at least 2");
            betas = new float[trained.length];
            for (int i = 0; i < betas.length; i++) betas[i] = (float) beta(cfg, "trained_betas", trained[i]);
        } else {
            betas = switch (cfg.choice("beta_schedule", "linear", "scaled_linear", "squaredcos_cap_v2")) {
                case "linear" -> Np.torchLinspace(start, end, n);
                case "scaled_linear" -> {
                    float[] b = Np.torchLinspace(Math.sqrt(start), Math.sqrt(end), n);
                    for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                    yield b;
                }
                default -> cosineBetas(n);
            };
        }
        float[] ac = new float[betas.length];
        double product = 1;
        for (int i = 0; i < ac.length; i++) {
            product *= 1f - betas[i];
            ac[i] = (float) product;
        }
        // every noise level divides by alphas_cumprod: a schedule that reaches 0 gives infinite sigmas
        if (!(ac[ac.length - 1] > 0))
            throw cfg.unsupported(trained != null ? "trained_betas" : "beta_end", trained != null ? "these values" : String.valueOf(end),
                "the schedule's alphas_cumprod reach 0, so its noise levels are infinite");
        return new NoiseSchedule(ac);
    }

    /** A beta is a variance fraction: a finite number in [0, 1). NaN, negative or 1+ values give NaN latents. */
    private static double beta(SchedulerConfig cfg, String key, double v) {
        if (!(v >= 0 && v < 1)) throw cfg.unsupported(key, String.valueOf(v), "expected a number from 0 up to, not including, 1");
        return v;
    }

    /** "squaredcos_cap_v2": the Glide cosine schedule, in double, capped at 0.999. */
    private static float[] cosineBetas(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return b;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** {@code alphas_cumprod[t]}, or a UserError when the settings put a timestep outside the trained range. */
    float alphaCumprod(int t) {
        if (t < 0 || t >= numTrainTimesteps)
            throw new UserError("timestep " + t + " is outside the model's 0.." + (numTrainTimesteps - 1)
                + " (too many steps for this timestep spacing and steps_offset?)");
        return alphasCumprod[t];
    }

    /** Correctly rounded float square root (what torch's {@code ** 0.5} gives). */
    static float sqrt(float x) { return (float) Math.sqrt(x); }
}
