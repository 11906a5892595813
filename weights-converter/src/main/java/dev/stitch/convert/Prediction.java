package dev.stitch.convert;

import dev.stitch.kernels.UserError;

/** What the UNet predicts: the noise (SD2-base, 512 px) or the velocity v (SD2-768-v). */
public enum Prediction {
    EPSILON("epsilon"), V("v_prediction");

    /** The value of {@code prediction_type} in a diffusers scheduler config. */
    public final String diffusers;

    Prediction(String diffusers) { this.diffusers = diffusers; }

    /** Parses a flag value: {@code epsilon|eps|v|v_prediction}. */
    public static Prediction parse(String s) {
        return switch (s.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "epsilon", "eps" -> EPSILON;
            case "v", "v_prediction", "v-prediction" -> V;
            default -> throw new UserError("--prediction: expected epsilon or v, got '" + s + "'");
        };
    }

    public static Prediction fromDiffusers(String s) {
        return switch (s) {
            case "epsilon" -> EPSILON;
            case "v_prediction" -> V;
            default -> throw new UserError("prediction_type '" + s + "' is not supported (expected epsilon or v_prediction)");
        };
    }

    @Override
    public String toString() { return this == EPSILON ? "epsilon" : "v"; }
}
