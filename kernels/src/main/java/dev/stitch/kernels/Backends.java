package dev.stitch.kernels;

import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;

import java.util.Locale;

/** Picks a backend by the name users give ({@code --device}). */
public final class Backends {
    private Backends() {}

    /** "cpu", "auto" (the best available: the CPU for now), "reference" (the slow oracle) or "cuda". */
    public static Backend byName(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "cpu", "auto" -> CpuBackend.shared();
            case "reference" -> ReferenceBackend.INSTANCE;
            case "cuda" -> throw new UserError("device cuda: the CUDA backend is not available in this build (or no GPU was found); use --device cpu");
            default -> throw new UserError("unknown device '" + name + "': expected cpu, cuda, auto or reference");
        };
    }
}
