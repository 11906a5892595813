package dev.stitch.cli;

import dev.stitch.engine.io.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class InspectCommandTest {
    @TempDir Path dir;

    @Test
    void listsTensorsAndMetadata() {
        Path f = dir.resolve("a.safetensors");
        new SafeTensorsWriter().metadata("method", "mean-diff").addF32("unet.mid_block", new float[] {1, 2, 3}, 3)
            .addI64("ids", new long[] {1, 2}, 1, 2).write(f);
        var r = CliRunner.run("inspect", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("unet.mid_block") && r.out().contains("F32") && r.out().contains("[3]"), r.out());
        assertTrue(r.out().contains("ids") && r.out().contains("I64") && r.out().contains("[1, 2]"), r.out());
        assertTrue(r.out().contains("method = mean-diff"), r.out());
        assertTrue(r.out().contains("2 tensors, 28 bytes"), r.out());
    }

    @Test
    void folderListsEveryFile() {
        new SafeTensorsWriter().addF32("x", new float[] {1}, 1).write(dir.resolve("sub/one.safetensors"));
        new SafeTensorsWriter().addF32("y", new float[] {2}, 1).write(dir.resolve("two.safetensors"));
        var r = CliRunner.run("inspect", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("one.safetensors") && r.out().contains("two.safetensors"), r.out());
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws IOException {
        var r = CliRunner.run("inspect", dir.resolve("missing.safetensors").toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {2, 0, 0, 0, 0, 0, 0, 0, '{', '"'});
        r = CliRunner.run("inspect", bad.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bad.safetensors") && r.err().contains("JSON"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        r = CliRunner.run("inspect", "--bogus-flag");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
