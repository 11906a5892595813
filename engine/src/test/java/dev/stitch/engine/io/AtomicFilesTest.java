package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class AtomicFilesTest {
    @TempDir Path dir;

    private long entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void writesTheWholeFileAndReplacesAnOldOne() throws IOException {
        Path f = dir.resolve("sub/out.txt");
        AtomicFiles.write(f, "first".getBytes());
        AtomicFiles.write(f, "second".getBytes());
        assertEquals("second", Files.readString(f));
        try (Stream<Path> s = Files.list(f.getParent())) {
            assertEquals(1, s.count(), "no temporary file is left beside it");
        }
    }

    @Test
    void aFailureMidWriteKeepsTheOldFileAndLeavesNoTemporary() throws IOException {
        Path f = Files.writeString(dir.resolve("keep.txt"), "old");
        var e = assertThrows(UserError.class, () -> AtomicFiles.write(f, tmp -> {
            Files.writeString(tmp, "half");
            throw new IOException("No space left on device");
        }));
        assertEquals("cannot write " + f + ": No space left on device", e.getMessage());
        assertEquals("old", Files.readString(f));
        assertEquals(1, entries());
    }

    @Test
    void aFolderThatCannotBeMadeIsOneLineNamingTheFile() throws IOException {
        Files.writeString(dir.resolve("plain"), "a file, not a folder");
        Path f = dir.resolve("plain/out.png");
        var e = assertThrows(UserError.class, () -> AtomicFiles.write(f, new byte[] {1, 2, 3}));
        assertTrue(e.getMessage().startsWith("cannot write " + f + ": "), e.getMessage());
        assertEquals(1, entries());
    }
}
