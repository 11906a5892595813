package dev.stitch.engine.vae;

import dev.stitch.kernels.UserError;

import java.util.Arrays;
import java.util.Locale;

/** The VAE classes a diffusers {@code vae/} folder may hold, by its {@code config.json}'s {@code _class_name}. */
public enum VaeKind {
    /** SD's own VAE: latents are a Gaussian's mean or a sample, scaled by {@code scaling_factor} 0.18215. */
    KL("AutoencoderKL", "kl"),
    /** TAESD: a small deterministic encoder and decoder, latents on the UNet's scale ({@code scaling_factor} 1.0). */
    TINY("AutoencoderTiny", "tiny");

    public final String className, label;

    VaeKind(String className, String label) {
        this.className = className;
        this.label = label;
    }

    /** The kind a config's {@code _class_name} names; {@code origin} names the file in the error. */
    public static VaeKind ofClassName(String origin, String className) {
        for (VaeKind k : values()) if (k.className.equals(className)) return k;
        throw new UserError(origin + ": _class_name '" + className + "' is not a VAE Stitch runs (expected "
            + String.join(" or ", Arrays.stream(values()).map(k -> k.className).toList()) + ")");
    }

    /** A command-line value: {@code kl} or {@code tiny}. */
    public static VaeKind parse(String flag, String value) {
        for (VaeKind k : values()) if (k.label.equals(value.toLowerCase(Locale.ROOT))) return k;
        throw new UserError(flag + " " + value + ": expected kl or tiny");
    }
}
