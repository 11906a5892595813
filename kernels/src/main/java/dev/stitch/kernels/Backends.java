package dev.stitch.kernels;

import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.cuda.CudaBackend;
import dev.stitch.kernels.reference.ReferenceBackend;

import java.util.Locale;

/** Picks a backend by the name users give ({@code --device}). */
public final class Backends {
    private Backends() {}

    /**
     * "cpu", "cuda", "reference" (the slow oracle) or "auto". Auto stays on the CPU for now: the CUDA kernels compile
     * and pass their launch checks but have not yet been run against the reference on a GPU (docs/gpu.md), and a
     * backend nobody has checked must not be picked silently. Asking for "cuda" by name uses it.
     */
    public static Backend byName(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "cpu", "auto" -> CpuBackend.shared();
            case "reference" -> ReferenceBackend.INSTANCE;
            case "cuda" -> {
                if (!CudaBackend.isAvailable())
                    throw new UserError("device cuda: not available (" + CudaBackend.unavailableReason() + "); use --device cpu");
                yield CudaHolder.INSTANCE;
            }
            default -> throw new UserError("unknown device '" + name + "': expected cpu, cuda, auto or reference");
        };
    }

    // Created on first use only, so that nothing loads a CUDA library unless asked.
    private static final class CudaHolder {
        static final Backend INSTANCE = new CudaBackend();
    }
}
