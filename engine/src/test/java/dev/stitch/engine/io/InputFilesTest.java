package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A FIFO where a file is expected would block the read forever: every reader refuses it at once. */
class InputFilesTest {
    static Path fifo(Path dir, String name) throws Exception {
        Path f = dir.resolve(name);
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", f.toString()).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "mkfifo is not available");
            return null;
        }
        assumeTrue(p.waitFor() == 0 && Files.exists(f), "mkfifo failed");
        return f;
    }

    @Test
    void fifosAreRefusedWithoutBlocking(@TempDir Path dir) throws Exception {
        Path st = fifo(dir, "x.safetensors"), json = fifo(dir, "config.json");
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            UserError e = assertThrows(UserError.class, () -> SafeTensors.open(st));
            assertTrue(e.getMessage().startsWith(st + ": not a regular file"), e.getMessage());
            e = assertThrows(UserError.class, () -> JsonFiles.readObject(json));
            assertTrue(e.getMessage().startsWith(json + ": not a regular file"), e.getMessage());
            e = assertThrows(UserError.class, () -> JsonConfig.read(json));
            assertTrue(e.getMessage().startsWith(json + ": not a regular file"), e.getMessage());
        });
    }

    @Test
    void missingFilesAndFoldersSaySo(@TempDir Path dir) {
        assertEquals(dir.resolve("no") + ": no such file",
            assertThrows(UserError.class, () -> InputFiles.regular(dir.resolve("no"))).getMessage());
        assertEquals(dir + ": is a folder, expected a file", assertThrows(UserError.class, () -> InputFiles.regular(dir)).getMessage());
    }
}
