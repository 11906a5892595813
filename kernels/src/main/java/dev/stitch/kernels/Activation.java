package dev.stitch.kernels;

/** Activation fused into a matmul or conv epilogue. RELU ends every conv of the FID Inception-v3. */
public enum Activation {
    NONE, SILU, GELU, RELU;

    /** Scalar definition, the one every backend must agree with. */
    public float apply(float x) {
        return switch (this) {
            case NONE -> x;
            case SILU -> Activation.silu(x);
            case GELU -> Activation.gelu(x);
            case RELU -> Math.max(x, 0f);   // NaN stays NaN, as in torch
        };
    }

    public static float silu(float x) { return (float) (x / (1.0 + Math.exp(-x))); }

    /** Exact GELU, x·Φ(x) with the error function (not the tanh approximation). */
    public static float gelu(float x) { return (float) (0.5 * x * Erf.erfc(-x / Math.sqrt(2.0))); }
}
