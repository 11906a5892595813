package dev.stitch.kernels.cpu;

import dev.stitch.kernels.UserError;

import java.util.Locale;

/**
 * How the CPU backend computes a 3×3, stride-1, padding-1 convolution: {@code -Dstitch.conv=auto|direct|winograd}.
 * Other convolutions always take the direct path.
 */
public enum ConvAlgorithm {
    /** Winograd where it pays (see {@link Winograd#pays}), direct elsewhere. */
    AUTO,
    /** The patch-matrix GEMM for every shape: exact up to f32 rounding of one dot product. */
    DIRECT,
    /** Winograd F(4×4, 3×3) for every 3×3 stride-1 padding-1 convolution, whatever its size (tests, benchmarks). */
    WINOGRAD;

    /** {@code stitch.conv}, AUTO when unset. */
    static ConvAlgorithm fromProperty() {
        String s = System.getProperty("stitch.conv");
        if (s == null || s.isBlank()) return AUTO;
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("stitch.conv=" + s + ": expected auto, direct or winograd");
        }
    }
}
