package dev.stitch.cli;

import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.UserError;

/** {@code --device cpu|cuda|auto} → a backend. */
final class Devices {
    private Devices() {}

    static Backend backend(String device) {
        return switch (device) {
            case "cpu", "cuda", "auto", "reference" -> Backends.byName(device);
            default -> throw new UserError("--device " + device + ": expected cpu, cuda or auto");
        };
    }
}
