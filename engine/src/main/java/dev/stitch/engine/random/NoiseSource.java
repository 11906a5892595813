package dev.stitch.engine.random;

/** Standard normal noise, drawn in a reproducible order (schedulers that add noise take one). */
public interface NoiseSource {
    /** The next {@code n} standard normal float32 values, as {@code torch.randn} of any shape with n elements. */
    float[] randn(int n);
}
