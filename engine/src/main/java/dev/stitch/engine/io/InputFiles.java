package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The check before a file is opened for reading: it must exist and be a regular file (links followed). A FIFO, a
 * device or a socket would block the read forever or never end, so they are refused by name.
 */
public final class InputFiles {
    private InputFiles() {}

    /** {@code file} if it is a regular file; otherwise a {@link UserError} naming it and saying what it is. */
    public static Path regular(Path file) {
        if (Files.isRegularFile(file)) return file;
        if (!Files.exists(file)) throw new UserError(file + ": no such file");
        if (Files.isDirectory(file)) throw new UserError(file + ": is a folder, expected a file");
        throw new UserError(file + ": not a regular file (a pipe, device or socket cannot be read as a model or config file)");
    }
}
