package dev.stitch.convert;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A folder that appears whole or not at all: everything is written into a hidden temporary folder beside the target,
 * which is renamed onto the target at the end. A failure, or Ctrl-C (a shutdown hook), removes the temporary folder,
 * so an interrupted conversion leaves no half-written model behind; what a kill -9 leaves is removed by the next
 * conversion to the same target ({@link AtomicFiles#cleanStale}).
 */
final class AtomicFolder implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final Thread cleanup;
    private boolean committed;

    private AtomicFolder(Path target, Path temp) {
        this.target = target;
        this.temp = temp;
        this.cleanup = new Thread(() -> deleteTree(temp), "stitch-convert-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** Checks that {@code target} may be written (absent, empty, or {@code force}) and creates the temporary folder. */
    static AtomicFolder create(Path target, boolean force) {
        Path abs = target.toAbsolutePath();
        AtomicFiles.cleanStale(abs);   // first: it may move back a model that a killed run had set aside
        checkTarget(target, force);
        try {
            return new AtomicFolder(abs, AtomicFiles.tempDirBeside(abs));
        } catch (IOException e) {
            throw new UserError(target + ": cannot create a folder beside it (" + e.getMessage() + ")");
        }
    }

    /** The checks of {@link #create}, without creating anything (to fail before a long read). */
    static void checkTarget(Path target, boolean force) {
        if (Files.exists(target) && !Files.isDirectory(target)) throw new UserError(target + ": exists and is not a folder");
        if (Files.isDirectory(target) && !force && !isEmpty(target))
            throw new UserError(target + ": folder exists and is not empty (pass --force to replace it)");
    }

    /** Where to write. */
    Path dir() { return temp; }

    /** Moves the finished folder into place, replacing an existing target. */
    void commit() {
        try {
            openUp(temp);
            AtomicFiles.replaceFolder(temp, target);
            committed = true;
        } catch (IOException e) {
            throw new UserError("cannot move the converted model into " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (!committed) deleteTree(temp);
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook runs anyway
        }
    }

    /** A temporary folder is created owner-only; the model folder gets ordinary permissions (rwxr-xr-x). */
    private static void openUp(Path dir) throws IOException {
        if (Files.getFileStore(dir).supportsFileAttributeView("posix"))
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UserError(dir + ": cannot list (" + e.getMessage() + ")");
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (DirectoryNotEmptyException ignored) {
                    // a writer still running during shutdown; nothing more to do
                }
            }
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: leftovers are hidden ".partial-" folders
        }
    }
}
