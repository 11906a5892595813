package dev.stitch.cli;

import dev.stitch.engine.io.SafeTensorsWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ConvertCommandTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path TINY = CONFORMANCE.resolve("tiny-sd2");
    static final Path LDM = CONFORMANCE.resolve("tiny-sd2-ldm/tiny-sd2-ldm.safetensors");

    private static CliRunner.Result run(String... args) { return CliRunner.run(args); }

    @BeforeAll
    static void needConformance() {
        assumeTrue(Files.isRegularFile(LDM), "conformance model not found at " + CONFORMANCE.toAbsolutePath());
    }

    @Test
    void convertsAndPrintsItsDecisions(@TempDir Path dir) {
        Path out = dir.resolve("model");
        CliRunner.Result r = run("convert", "--from", LDM.toString(), "--to", out.toString(), "--tokenizer", TINY.resolve("tokenizer").toString(), "--dtype", "fp32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("prediction: epsilon (tiny-sd2-ldm.yaml has no parameterization"), r.out());
        assertTrue(r.out().contains("UNet heads per level: 2,2,4,4"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("unet/diffusion_pytorch_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer/vocab.json")));

        Path back = dir.resolve("back.safetensors");
        CliRunner.Result rev = run("convert", "--to-ldm", "--from", out.toString(), "--to", back.toString());
        assertEquals(0, rev.code(), rev.err());
        assertTrue(Files.isRegularFile(dir.resolve("back.yaml")));
        CliRunner.Result again = run("convert", "--to-ldm", "--from", out.toString(), "--to", back.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("--force"), again.err());
    }

    @Test
    void refusalsAreOneLineAndExitTwo(@TempDir Path dir) {
        Path sdxl = dir.resolve("sdxl.safetensors");
        new SafeTensorsWriter().addF32("conditioner.embedders.0.model.token_embedding", new float[] {0.5f, -0.5f}, 2)
            .addF32("model.diffusion_model.input_blocks.0.0.weight", new float[] {1f, 2f}, 2).write(sdxl);
        Path out = dir.resolve("model");
        CliRunner.Result r = run("convert", "--from", sdxl.toString(), "--to", out.toString(), "--tokenizer", TINY.resolve("tokenizer").toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("stitch: ") && r.err().contains("SDXL"), r.err());
        assertFalse(Files.exists(out));

        CliRunner.Result noTok = run("convert", "--from", LDM.toString(), "--to", out.toString());
        assertEquals(2, noTok.code());
        assertTrue(noTok.err().contains("no tokenizer"), noTok.err());

        CliRunner.Result badDtype = run("convert", "--from", LDM.toString(), "--to", out.toString(), "--dtype", "int8");
        assertEquals(2, badDtype.code());
        assertTrue(badDtype.err().contains("--dtype"), badDtype.err());
        assertFalse(Files.exists(out));
    }
}
