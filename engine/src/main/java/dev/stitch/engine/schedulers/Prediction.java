package dev.stitch.engine.schedulers;

import dev.stitch.kernels.ParameterError;

import java.util.Locale;

/** What the UNet predicts: the noise ε (SD2-base, 512 px) or the velocity v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0 (SD2-768-v). */
public enum Prediction {
    EPSILON("epsilon", "epsilon"), V_PREDICTION("v", "v_prediction");

    /** How users write it: {@code epsilon}, {@code v}. */
    public final String label;
    /** The value of {@code prediction_type} in a diffusers scheduler config. */
    public final String diffusers;

    Prediction(String label, String diffusers) {
        this.label = label;
        this.diffusers = diffusers;
    }

    /** A user's value: {@code epsilon} (or {@code eps}), {@code v} (or {@code v_prediction}). */
    public static Prediction parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "epsilon", "eps" -> EPSILON;
            case "v", "v_prediction", "v-prediction" -> V_PREDICTION;
            default -> throw new ParameterError("prediction", s, "expected epsilon or v");
        };
    }

    /** A diffusers {@code prediction_type} value, or null when it is neither of the two. */
    public static Prediction fromDiffusers(String s) {
        for (Prediction p : values()) if (p.diffusers.equals(s)) return p;
        return null;
    }

    @Override
    public String toString() { return label; }
}
