package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Atomic replacement of output files: write to a hidden temporary file beside the target, then rename it over the
 * target, so a reader (or a killed run) never sees half a file. The temporary file gets the default permissions
 * (the umask), not the owner-only ones of {@link Files#createTempFile}, so outputs are readable as users expect.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A new empty file in {@code target}'s folder (created if needed), named after the target. */
    public static Path tempBeside(Path target, String suffix) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + suffix);
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    /** A new empty folder beside {@code target}, named after it, with the default permissions (for a whole output folder). */
    public static Path tempDirBeside(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()));
            try {
                return Files.createDirectory(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    /** Renames {@code tmp} over {@code target} in one step (where the file system cannot, in the closest it can). */
    public static void commit(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** What writes the content of a file, given the temporary file to fill. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path tmp) throws IOException;
    }

    /**
     * Writes {@code target} whole or not at all: {@code content} fills a temporary file beside it, which is then renamed
     * over it; on any failure the temporary file is removed and the target is left as it was. A failing disk or folder
     * (full, read-only, not permitted) is the user's to fix: a {@link UserError} naming the file.
     */
    public static void write(Path target, Content content) {
        Path tmp = null;
        try {
            tmp = tempBeside(target, ".tmp");
            content.writeTo(tmp);
            commit(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new UserError("cannot write " + target + ": " + reason(e), e);
        } finally {
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) {}
        }
    }

    /** {@code bytes} as the whole content of {@code target}, forced to disk before the rename. */
    public static void write(Path target, byte[] bytes) {
        write(target, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
        });
    }

    /** Why an I/O operation failed, in words (the JDK's messages for some failures are only a path). */
    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException f) return f.getFile() + " already exists";
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
