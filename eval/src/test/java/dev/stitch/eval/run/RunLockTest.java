package dev.stitch.eval.run;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** One writer per run folder: a second writer is refused by name, a lock left by a dead process is taken over. */
class RunLockTest {
    private static Process start(Path dir, int n, long delayMs, Path stderr) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", cp, SlowRunMain.class.getName(),
            dir.toString(), Integer.toString(n), Long.toString(delayMs))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(stderr.toFile()).start();
    }

    @Test
    void aSecondWriterIsRefusedAndADeadOnesLockIsTakenOver(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run"), scores = dir.resolve(RunFolder.SCORES);
        Process first = start(dir, 1000, 100, tmp.resolve("first.err"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(scores) || Files.size(scores) == 0) {
                assertTrue(first.isAlive(), Files.readString(tmp.resolve("first.err")));
                assertTrue(System.nanoTime() < deadline, "the first run made no progress in 60 s");
                Thread.sleep(20);
            }
            // another process on the same folder: refused, naming the owner, and the scores untouched
            Process second = start(dir, 1000, 1, tmp.resolve("second.err"));
            assertTrue(second.waitFor(60, TimeUnit.SECONDS));
            String err = Files.readString(tmp.resolve("second.err"));
            assertEquals(2, second.exitValue(), err);
            assertTrue(err.contains("in use by another run (process " + first.pid() + ","), err);
            // and this process too
            UserError e = assertThrows(UserError.class, () -> RunLock.acquire(dir));
            assertTrue(e.getMessage().contains("process " + first.pid()), e.getMessage());
        } finally {
            first.destroyForcibly();
            first.waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(Long.toString(first.pid()), Files.readString(dir.resolve(RunLock.FILE)).strip(), "the lock file outlives its owner");
        try (RunLock lock = RunLock.acquire(dir)) {
            assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(dir.resolve(RunLock.FILE)).strip());
        }
        ScoresFile.read(scores);   // whole lines only: no second writer got in
    }

    @Test
    void aLockFileWithADeadPidIsTakenOver(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(RunLock.FILE), "2147483646\n");
        try (RunLock lock = RunLock.acquire(dir)) {
            assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(dir.resolve(RunLock.FILE)).strip());
        }
    }
}
