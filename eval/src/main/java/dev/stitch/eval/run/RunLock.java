package dev.stitch.eval.run;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One writer per run folder: {@code RUN/run.lock} holds an operating-system lock for as long as a run writes, and
 * the owner's process id so a second writer can say who holds it. The lock dies with its process, so a lock file
 * left by a killed run is simply taken over; the file itself stays (removing it would race with the next owner).
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = "run.lock";

    private final FileChannel ch;
    private final FileLock lock;

    private RunLock(FileChannel ch, FileLock lock) {
        this.ch = ch;
        this.lock = lock;
    }

    /** Creates {@code dir} if needed and locks it; a folder another run holds is a {@link UserError} naming its pid. */
    public static RunLock acquire(Path dir) {
        Path file = dir.resolve(FILE);
        FileChannel ch = null;
        try {
            Files.createDirectories(dir);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;   // held by this process
            }
            if (lock == null) {
                String owner = owner(ch);
                ch.close();
                throw new UserError(dir + " is in use by another run (process " + owner + ", see " + file
                    + "); wait for it to end or stop it, or use another output folder");
            }
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(pid), 0);
            ch.force(false);
            return new RunLock(ch, lock);
        } catch (IOException e) {
            try {
                if (ch != null) ch.close();
            } catch (IOException ignored) {
                // the first problem is the one to report
            }
            throw new UserError("cannot lock the run folder " + dir + " (" + e.getMessage() + ")");
        }
    }

    private static String owner(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
            return s.matches("\\d{1,19}") ? s : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            ch.close();
        } catch (IOException ignored) {
            // the lock dies with the channel anyway
        }
    }
}
