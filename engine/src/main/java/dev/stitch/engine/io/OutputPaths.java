package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Keeps outputs away from inputs: an output that is an input, contains one (a folder replaced whole) or lies inside
 * an input folder (a model folder) is refused before anything is written, so no command can destroy what it reads.
 * Paths are compared after resolving symbolic links and {@code ..}, so another spelling of the same file is caught.
 */
public final class OutputPaths {
    private OutputPaths() {}

    /** A path the command reads, with the flag that named it (for the message); a null path is skipped. */
    public record Input(String flag, Path path) {}

    public static Input input(String flag, Path path) { return new Input(flag, path); }

    /** Refuses {@code output} (named by {@code flag}) if it is, contains or lies inside one of {@code inputs}. */
    public static void check(String flag, Path output, List<Input> inputs) {
        if (output == null) return;
        Path out = real(output);
        for (Input in : inputs) {
            if (in == null || in.path() == null) continue;
            Path src = real(in.path());
            String what = out.equals(src) || sameFile(out, src) ? "is the same file as"
                : src.startsWith(out) ? "would replace a folder that holds"
                : out.startsWith(src) && Files.isDirectory(src) ? "lies inside"
                : null;
            if (what != null)
                throw new UserError(flag + " " + output + ": " + what + " the input " + in.flag() + " " + in.path()
                    + "; write outputs somewhere else (an output never overwrites an input)");
        }
    }

    /** {@link #check} with the inputs given inline. */
    public static void check(String flag, Path output, Input... inputs) { check(flag, output, List.of(inputs)); }

    /** Two names of one file (a hard link): only existing files can be. */
    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isRegularFile(a) && Files.isRegularFile(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The real path of {@code p}, whether or not it exists: the deepest existing ancestor resolved (links followed),
     * the rest appended as written (normalized).
     */
    public static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs;
        }
    }
}
