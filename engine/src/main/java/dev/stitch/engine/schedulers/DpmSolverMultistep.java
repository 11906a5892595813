package dev.stitch.engine.schedulers;

import static dev.stitch.engine.schedulers.NoiseSchedule.sqrt;

/**
 * DPM-Solver++(2M), as diffusers 0.25.1's {@code DPMSolverMultistepScheduler} with {@code algorithm_type
 * "dpmsolver++"}: a second-order multistep solver on the data prediction x0, in log-SNR time. The first step is first
 * order (no history yet), and so is the last one when {@code lower_order_final} is set and there are fewer than 15
 * steps. Timesteps come from N + 1 points with the last dropped; the final sigma is that of timestep 0, not 0
 * (0.25.1 has no {@code final_sigmas_type}). Float32 arithmetic in diffusers' order.
 */
public final class DpmSolverMultistep implements Scheduler {
    private final NoiseSchedule schedule;
    private final Prediction prediction;
    private final int solverOrder;
    private final boolean heun, lowerOrderFinal, eulerAtFinal;
    private final int[] timesteps;
    private final float[] sigmas;  // one per step, then sigma(t = 0)

    private float[] previousX0;   // the converted output of the previous call
    private int lowerOrderNums;   // calls made so far, up to the solver order

    public DpmSolverMultistep(SchedulerConfig cfg, int steps) {
        schedule = NoiseSchedule.from(cfg);
        prediction = cfg.prediction();
        cfg.choice("algorithm_type", "dpmsolver++");
        solverOrder = cfg.integer("solver_order", 2);
        if (solverOrder != 1 && solverOrder != 2) throw cfg.unsupported("solver_order", String.valueOf(solverOrder), "expected 1 or 2");
        heun = cfg.choice("solver_type", "midpoint", "heun").equals("heun");
        lowerOrderFinal = cfg.bool("lower_order_final", true);
        eulerAtFinal = cfg.bool("euler_at_final", false);
        cfg.requireBool("thresholding", false, false);
        cfg.requireBool("use_karras_sigmas", false, false);
        cfg.requireBool("use_lu_lambdas", false, false);
        if (cfg.has("variance_type")) throw cfg.unsupported("variance_type", '"' + cfg.string("variance_type", "") + '"', "only null is supported");
        double lambdaMin = cfg.number("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        if (lambdaMin != Double.NEGATIVE_INFINITY) throw cfg.unsupported("lambda_min_clipped", String.valueOf(lambdaMin), "only -Infinity is supported");

        int trainSteps = schedule.numTrainTimesteps;
        Schedulers.checkSteps(steps, trainSteps);
        timesteps = timesteps(cfg.timestepSpacing(SchedulerKind.DPM_SOLVER_MULTISTEP.defaultSpacing), trainSteps, steps, cfg.integer("steps_offset", 0));
        sigmas = new float[timesteps.length + 1];
        for (int i = 0; i < timesteps.length; i++) sigmas[i] = schedule.sigmas[checked(timesteps[i])];
        sigmas[timesteps.length] = schedule.sigmas[0];
    }

    private int checked(int t) {
        schedule.alphaCumprod(t);
        return t;
    }

    /** diffusers 0.25.1: N + 1 points (linspace, leading) with the smallest dropped, or DDIM's trailing list. */
    private static int[] timesteps(TimestepSpacing spacing, int trainSteps, int steps, int stepsOffset) {
        double[] t = switch (spacing) {
            case LINSPACE -> Np.reverse(Np.round(Np.linspace(0, trainSteps - 1, steps + 1)));
            case LEADING -> {
                double[] v = new double[steps + 1];
                for (int i = 0; i <= steps; i++) v[i] = (double) (steps - i) * (trainSteps / (steps + 1)) + stepsOffset;
                yield v;
            }
            case TRAILING -> null;
        };
        if (t == null) return Schedulers.discreteTimesteps(spacing, trainSteps, steps, stepsOffset);
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) out[i] = (int) t[i];
        return out;
    }

    @Override
    public float[] timesteps() { return Schedulers.toFloats(timesteps); }

    /** One sigma per step followed by sigma(t = 0) (diffusers' {@code scheduler.sigmas}). */
    public float[] sigmas() { return sigmas.clone(); }

    /** alpha_t = 1 / sqrt(sigma^2 + 1) and sigma_t = sigma * alpha_t (variance-preserving form). */
    private static float alpha(float sigma) { return 1f / sqrt(sigma * sigma + 1f); }

    private static float lambda(float sigma) {
        float a = alpha(sigma);
        return TorchMath.log(a) - TorchMath.log(sigma * a);
    }

    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample) {
        int n = timesteps.length;
        boolean finalFirstOrder = stepIndex == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15));

        // x0 from the model output at this step's sigma.
        float s0 = sigmas[stepIndex], a0 = alpha(s0), st0 = s0 * a0;
        float[] x0 = new float[sample.length];
        for (int i = 0; i < x0.length; i++)
            x0[i] = prediction == Prediction.EPSILON ? (sample[i] - st0 * modelOutput[i]) / a0 : a0 * sample[i] - st0 * modelOutput[i];

        float sNext = sigmas[stepIndex + 1], aT = alpha(sNext), sigmaT = sNext * aT;
        float h = lambda(sNext) - lambda(s0);
        float ratio = sigmaT / st0;
        float c0 = aT * (TorchMath.exp(-h) - 1f);
        float[] out = new float[sample.length];
        if (solverOrder == 1 || lowerOrderNums < 1 || finalFirstOrder) {
            for (int i = 0; i < out.length; i++) out[i] = ratio * sample[i] - c0 * x0[i];
        } else {
            float h0 = lambda(s0) - lambda(sigmas[stepIndex - 1]);
            float invR0 = 1f / (h0 / h);
            float c1 = heun ? aT * ((TorchMath.exp(-h) - 1f) / h + 1f) : 0.5f * c0;
            float[] m1 = previousX0;
            for (int i = 0; i < out.length; i++) {
                float d1 = invR0 * (x0[i] - m1[i]);
                out[i] = heun ? ratio * sample[i] - c0 * x0[i] + c1 * d1 : ratio * sample[i] - c0 * x0[i] - c1 * d1;
            }
        }
        previousX0 = x0;
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        return out;
    }

    @Override
    public float[] addNoise(float[] original, float[] noise, int stepIndex) {
        float s = sigmas[stepIndex], a = alpha(s), st = s * a;
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = a * original[i] + st * noise[i];
        return out;
    }
}
