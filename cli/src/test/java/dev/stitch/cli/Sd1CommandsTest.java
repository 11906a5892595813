package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.kernels.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** SD 1.x from the command line: v1 checkpoints through {@code convert} (with and without --config-from) and {@code --model FILE}. */
class Sd1CommandsTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path TINY = CONFORMANCE.resolve("tiny-sd1");
    static final Path LDM = CONFORMANCE.resolve("tiny-sd1-ldm/tiny-sd1-ldm.safetensors");

    @BeforeAll
    static void needConformance() {
        assumeTrue(Files.isRegularFile(LDM), "conformance model not found at " + CONFORMANCE.toAbsolutePath());
    }

    @Test
    void convertsAV1CheckpointWithConfigFromAndBack(@TempDir Path dir) {
        Path out = dir.resolve("model");
        var refused = CliRunner.run("convert", "--from", LDM.toString(), "--to", out.toString(), "--tokenizer", TINY.resolve("tokenizer").toString());
        assertEquals(2, refused.code());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().contains("head count") && refused.err().contains("--config-from DIR"), refused.err());
        assertFalse(Files.exists(out));

        var r = CliRunner.run("convert", "--from", LDM.toString(), "--to", out.toString(), "--config-from", TINY.toString(), "--dtype", "fp32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("model: SD 1.x, architecture from " + TINY), r.out());
        assertTrue(r.out().contains("tokenizer from " + TINY.resolve("tokenizer")), r.out());
        assertTrue(Files.isRegularFile(out.resolve("unet/diffusion_pytorch_model.safetensors")));

        Path back = dir.resolve("back.safetensors");
        var rev = CliRunner.run("convert", "--to-ldm", "--from", out.toString(), "--to", back.toString());
        assertEquals(0, rev.code(), rev.err());
        assertTrue(rev.out().contains("original SD 1.x LDM layout"), rev.out());
        assertTrue(rev.err().contains("--config-from " + out), "the heads the file cannot record are named:\n" + rev.err());

        var both = CliRunner.run("convert", "--from", LDM.toString(), "--to", dir.resolve("x").toString(), "--config-from", TINY.toString(),
            "--prediction", "v");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("--prediction with --config-from"), both.err());
    }

    /** A v1 checkpoint with CLIP's 64-wide text heads runs as --model FILE exactly as its diffusers folder does. */
    @Test
    void generatesFromAV1CheckpointExactlyAsFromItsFolder(@TempDir Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Path cfg = dir.resolve("cfg");
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "unet/config.json", "vae/config.json")) {
            Files.createDirectories(cfg.resolve(f).getParent());
            Files.copy(TINY.resolve(f), cfg.resolve(f));
        }
        ObjectNode text = (ObjectNode) json.readTree(cfg.resolve("text_encoder/config.json").toFile());
        json.writeValue(cfg.resolve("text_encoder/config.json").toFile(), text.put("hidden_size", 64).put("num_attention_heads", 1));
        ObjectNode unet = (ObjectNode) json.readTree(cfg.resolve("unet/config.json").toFile());
        json.writeValue(cfg.resolve("unet/config.json").toFile(), unet.put("cross_attention_dim", 64));
        Path folder = dir.resolve("folder");
        RandomModel.writeFromConfigs(cfg, folder, 5, DType.F32, TINY.resolve("tokenizer"));
        Path ckpt = dir.resolve("v1.safetensors");
        assertEquals(0, CliRunner.run("convert", "--to-ldm", "--from", folder.toString(), "--to", ckpt.toString()).code());

        String[] common = {"--prompt", "a lighthouse at dusk", "--steps", "3", "--width", "64", "--height", "64", "--seed", "3", "--device", "cpu"};
        Path fromFile = dir.resolve("file.safetensors"), fromFolder = dir.resolve("folder.safetensors");
        var a = CliRunner.run(concat(new String[] {"generate", "--model", ckpt.toString(), "--tokenizer", TINY.resolve("tokenizer").toString(),
            "--out", dir.resolve("file.png").toString(), "--save-latents", fromFile.toString()}, common));
        assertEquals(0, a.code(), a.err());
        assertTrue(a.err().contains("v1.safetensors: model: SD 1.x"), a.err());
        var b = CliRunner.run(concat(new String[] {"generate", "--model", folder.toString(), "--out", dir.resolve("folder.png").toString(),
            "--save-latents", fromFolder.toString()}, common));
        assertEquals(0, b.code(), b.err());
        float[] x = GenerateCommandTest.latents(fromFile), y = GenerateCommandTest.latents(fromFolder);
        assertTrue(GenerateCommandTest.maxAbs(x) > 0.1, "latents carry a signal");
        assertArrayEquals(y, x, "the same tensors and configs give the same bits");
    }

    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
