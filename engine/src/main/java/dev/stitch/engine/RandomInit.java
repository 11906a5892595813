package dev.stitch.engine;

import dev.stitch.kernels.Tensor;

import java.util.SplittableRandom;

/**
 * Deterministic random weights for models built from a config alone. Each tensor's values depend only on the seed
 * and its name, so a model is the same whatever order it is built in. Scales keep activations O(1) through deep
 * stacks: weights ~ N(0, 1/fan_in), norm scales near 1, biases and embeddings small.
 */
public final class RandomInit {
    private RandomInit() {}

    /** Storage of the placeholders a random {@link Weights} hands out while a model is being built. */
    static final Tensor.Storage PLACEHOLDER = new Tensor.Storage() {};

    public static Tensor tensor(String name, long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode() * 0xC2B2AE3D27D4EB4FL);
        int n = Math.toIntExact(Tensor.count(shape));
        float[] v = new float[n];
        boolean norm = name.contains("norm") || name.contains("ln_");
        if (norm && name.endsWith(".weight")) {
            for (int i = 0; i < n; i++) v[i] = (float) (1 + 0.1 * r.nextGaussian());
        } else if (name.endsWith(".bias") || shape.length < 2) {
            for (int i = 0; i < n; i++) v[i] = (float) (0.02 * r.nextGaussian());
        } else if (name.contains("embedding")) {
            for (int i = 0; i < n; i++) v[i] = (float) (0.5 * r.nextGaussian());
        } else {
            long fanIn = Tensor.count(shape) / shape[0];
            double std = 1 / Math.sqrt(fanIn);
            for (int i = 0; i < n; i++) v[i] = (float) (std * r.nextGaussian());
        }
        return Tensor.of(v, shape);
    }
}
