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

    /** The pid of a process that has exited (a kill -9'd run's leftovers carry such a pid). */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void leftoversOfKilledRunsAreCleanedOnTheNextWriteOfTheSameTarget() throws Exception {
        long dead = deadPid(), alive = ProcessHandle.current().pid();
        Path f = dir.resolve("trace.safetensors");
        Path staleData = Files.writeString(dir.resolve(".trace.safetensors." + dead + "-3f2a.data.tmp"), "as big as the trace");
        Path staleTmp = Files.writeString(dir.resolve(".trace.safetensors." + dead + "-9c.tmp"), "half");
        Path live = Files.writeString(dir.resolve(".trace.safetensors." + alive + "-77.data.tmp"), "a run still writing");
        Path other = Files.writeString(dir.resolve(".other.safetensors." + dead + "-1.tmp"), "another target's");
        Path user = Files.writeString(dir.resolve(".trace.safetensors.notes"), "not ours");
        AtomicFiles.write(f, "new".getBytes());
        assertFalse(Files.exists(staleData));
        assertFalse(Files.exists(staleTmp));
        assertTrue(Files.exists(live) && Files.exists(other) && Files.exists(user));
        assertEquals("new", Files.readString(f));
    }

    @Test
    void aFolderSetAsideByAKilledRunIsRestoredOrRemoved() throws Exception {
        long dead = deadPid();
        Path model = dir.resolve("model");
        // killed between the two renames: the model exists only as the old copy
        Path old = Files.createDirectories(dir.resolve(".model.old-" + dead));
        Files.writeString(old.resolve("weights"), "the user's model");
        Path partial = Files.createDirectories(dir.resolve(".model." + dead + "-abc.partial/unet"));
        AtomicFiles.cleanStale(model);
        assertEquals("the user's model", Files.readString(model.resolve("weights")));
        assertFalse(Files.exists(old));
        assertFalse(Files.exists(partial.getParent()));
        // killed after the new folder was in place: the old copy is just a stale copy
        Files.createDirectories(old);
        Files.writeString(old.resolve("weights"), "older");
        AtomicFiles.cleanStale(model);
        assertFalse(Files.exists(old));
        assertEquals("the user's model", Files.readString(model.resolve("weights")));
    }

    @Test
    void temporariesCarryThePidOfTheirWriter() throws Exception {
        Path t = AtomicFiles.tempBeside(dir.resolve("x.png"), ".tmp");
        assertTrue(t.getFileName().toString().startsWith(".x.png." + ProcessHandle.current().pid() + "-"), t.toString());
        AtomicFiles.cleanStale(dir.resolve("x.png"));
        assertTrue(Files.exists(t), "a live writer's temporary is never removed");
    }

    @Test
    void replaceFolderSwapsWholeFoldersAndKeepsTheOldOneWhenTheNewCannotMove() throws Exception {
        Path target = Files.createDirectories(dir.resolve("model"));
        Files.writeString(target.resolve("w"), "old");
        Path tmp = AtomicFiles.tempDirBeside(target);
        Files.writeString(tmp.resolve("w"), "new");
        AtomicFiles.replaceFolder(tmp, target);
        assertEquals("new", Files.readString(target.resolve("w")));
        assertEquals(1, entries(), "neither the temporary nor the old copy is left");

        IOException e = assertThrows(IOException.class, () -> AtomicFiles.replaceFolder(dir.resolve("missing"), target));
        assertNotNull(e);
        assertEquals("new", Files.readString(target.resolve("w")), "a failed swap moves the old folder back");
        assertEquals(1, entries());
    }
}
