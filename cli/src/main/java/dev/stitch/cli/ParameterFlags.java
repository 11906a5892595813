package dev.stitch.cli;

import dev.stitch.kernels.ParameterError;

import java.util.Map;
import java.util.function.Supplier;

/** Library errors name a call's parameters; a command says which of its flags set each one, and the user reads the flag. */
final class ParameterFlags {
    private ParameterFlags() {}

    /** Runs {@code body}, telling a {@link ParameterError} about a parameter in {@code flags} as that flag. */
    static <T> T mapped(Map<String, String> flags, Supplier<T> body) {
        try {
            return body.get();
        } catch (ParameterError e) {
            String flag = flags.get(e.parameter());
            throw flag == null ? e : e.as(flag);
        }
    }
}
