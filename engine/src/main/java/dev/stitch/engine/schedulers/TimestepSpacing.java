package dev.stitch.engine.schedulers;

import dev.stitch.kernels.ParameterError;

import java.util.Locale;

/**
 * How the inference timesteps are spread over the training ones (diffusers' {@code timestep_spacing}, see
 * {@link Schedulers#discreteTimesteps}): {@code linspace} includes the last training timestep, {@code leading} starts
 * from 0 in steps of T/N, {@code trailing} ends at T−1.
 */
public enum TimestepSpacing {
    LEADING, LINSPACE, TRAILING;

    /** How users and diffusers configs write it: {@code leading}, {@code linspace}, {@code trailing}. */
    public final String label = name().toLowerCase(Locale.ROOT);

    /** A user's value. */
    public static TimestepSpacing parse(String s) {
        TimestepSpacing t = fromLabel(s.strip().toLowerCase(Locale.ROOT));
        if (t == null) throw new ParameterError("timestepSpacing", s, "expected leading, linspace or trailing");
        return t;
    }

    /** The spacing {@code label} names, or null. */
    static TimestepSpacing fromLabel(String label) {
        for (TimestepSpacing t : values()) if (t.label.equals(label)) return t;
        return null;
    }

    @Override
    public String toString() { return label; }
}
