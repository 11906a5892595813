package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Atomic replacement of output files: write to a hidden temporary file beside the target, then rename it over the
 * target, so a reader (or a killed run) never sees half a file. The temporary file gets the default permissions
 * (the umask), not the owner-only ones of {@link Files#createTempFile}, so outputs are readable as users expect.
 *
 * <p>Temporaries are named {@code .NAME.PID-RANDOM...} after the target and the process that writes them, so that a
 * run killed outright (kill -9, power loss), which cannot clean up, leaves something the next run of the same target
 * recognises and removes: {@link #cleanStale}.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A new empty file in {@code target}'s folder (created if needed), named after the target. */
    public static Path tempBeside(Path target, String suffix) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve(tempName(target, suffix));
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
            Path tmp = dir.resolve(tempName(target, ".partial"));
            try {
                return Files.createDirectory(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    private static String tempName(Path target, String suffix) {
        return "." + target.getFileName() + "." + ProcessHandle.current().pid() + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong()) + suffix;
    }

    /** Where {@link #replaceFolder} keeps the old folder until the new one is in place. */
    private static Path oldCopy(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".old-" + ProcessHandle.current().pid());
    }

    /**
     * Removes what killed runs left beside {@code target}: temporary files and folders ({@code .NAME.PID-...}) whose
     * process is gone. An old copy ({@code .NAME.old-PID}) of a dead process is moved back when the target is missing
     * (the run died between the two renames of {@link #replaceFolder}) and removed otherwise. Temporaries of running
     * processes, including this one, are left alone; anything else is never touched.
     */
    public static void cleanStale(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        Path dir = abs.getParent();
        if (dir == null || abs.getFileName() == null || !Files.isDirectory(dir)) return;
        String name = abs.getFileName().toString();
        Pattern temp = Pattern.compile("\\." + Pattern.quote(name) + "\\.(\\d{1,19})-[0-9a-f]{1,16}(\\..*)?");
        Pattern old = Pattern.compile("\\." + Pattern.quote(name) + "\\.old-(\\d{1,19})");
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(p -> p.getFileName().toString().startsWith("." + name + ".")).toList();
        } catch (IOException | UncheckedIOException e) {
            return;   // best effort: an unreadable folder fails later with a proper message
        }
        for (Path p : found) {
            String n = p.getFileName().toString();
            Matcher t = temp.matcher(n), o = old.matcher(n);
            try {
                if (t.matches() && dead(t.group(1))) deleteTree(p);
                else if (o.matches() && dead(o.group(1))) {
                    if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) Files.move(p, abs, StandardCopyOption.ATOMIC_MOVE);
                    else deleteTree(p);
                }
            } catch (IOException | UncheckedIOException ignored) {
                // another process cleaning at the same time, or no permission: leave it
            }
        }
    }

    private static boolean dead(String pid) {
        long id;
        try {
            id = Long.parseLong(pid);
        } catch (NumberFormatException e) {
            return false;
        }
        return id != ProcessHandle.current().pid() && ProcessHandle.of(id).map(h -> !h.isAlive()).orElse(true);
    }

    /** Deletes a file or a folder with everything in it (children first). */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS))
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        else Files.deleteIfExists(root);
    }

    /**
     * Puts the finished folder {@code tmp} (from {@link #tempDirBeside}) in place of {@code target}. An existing
     * target is first renamed to {@code .NAME.old-PID} and deleted once the new one is in place; if the second rename
     * fails it is moved back. The old copy is deleted only when the new folder is in place: a run killed between the
     * renames, or one that cannot move it back, leaves it for {@link #cleanStale} to restore.
     */
    public static void replaceFolder(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.isDirectory(target)) {
            old = oldCopy(target);
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null)
                try {
                    Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
            throw e;
        }
        if (old != null)
            try {
                deleteTree(old);
            } catch (IOException ignored) {
                // the new folder is in place; what is left of the old one is stale once this process ends
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
        cleanStale(target);
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
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        // creating a folder where a file is: the JDK reports the file as "already exists"
        if (e instanceof FileAlreadyExistsException f)
            return f.getFile() + (Files.isDirectory(Path.of(f.getFile())) ? " already exists" : " is a file, not a folder");
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
