package dev.stitch.engine.vae;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.stitch.engine.vae.VaeConfigTest.json;
import static org.junit.jupiter.api.Assertions.*;

/** AutoencoderTiny's config.json: diffusers' defaults (TAESD's), what cannot run refused by key, and Vae.load's dispatch. */
class AutoencoderTinyConfigTest {
    static AutoencoderTinyConfig parse(String body) throws Exception {
        return AutoencoderTinyConfig.parse("config.json", json("{\"_class_name\": \"AutoencoderTiny\"" + body + "}"));
    }

    static String refused(String body) {
        return assertThrows(UserError.class, () -> parse(body)).getMessage();
    }

    @Test
    void absentKeysAreTaesdsValues() throws Exception {
        AutoencoderTinyConfig c = parse("");
        assertArrayEquals(new int[] {64, 64, 64, 64}, c.encoderBlockOutChannels());
        assertArrayEquals(new int[] {1, 3, 3, 3}, c.numEncoderBlocks());
        assertArrayEquals(new int[] {3, 3, 3, 1}, c.numDecoderBlocks());
        assertEquals(Activation.RELU, c.act());
        assertEquals(1f, c.scalingFactor());
        assertEquals(8, c.downscale());
        assertEquals(Activation.SILU, parse(", \"act_fn\": \"swish\"").act());
    }

    @Test
    void whatCannotRunIsRefusedByKey() {
        assertTrue(refused(", \"act_fn\": \"mish\"").contains("config.json: act_fn 'mish' is not supported"));
        assertTrue(refused(", \"encoder_block_out_channels\": [32, 64, 64, 64]").contains("encoder_block_out_channels [32, 64, 64, 64] must be one positive width repeated"));
        assertTrue(refused(", \"num_decoder_blocks\": [3, 3, 1]").contains("num_decoder_blocks has 3 entries but decoder_block_out_channels has 4"));
        assertTrue(refused(", \"upsampling_scaling_factor\": 3").contains("upsampling_scaling_factor must be 2"));
        assertTrue(refused(", \"scaling_factor\": 0").contains("scaling_factor must be a positive number"));
        assertTrue(assertThrows(UserError.class, () -> AutoencoderTinyConfig.parse("c.json", json("{\"_class_name\": \"AutoencoderKL\"}")))
            .getMessage().contains("expected AutoencoderTiny"));
    }

    @Test
    void vaeLoadChoosesTheClassByItsConfig(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("vae"));
        Files.writeString(dir.resolve("config.json"), "{\"_class_name\": \"VQModel\"}");
        String e = assertThrows(UserError.class, () -> Vae.load(dir)).getMessage();
        assertTrue(e.contains("_class_name 'VQModel' is not a VAE Stitch runs (expected AutoencoderKL or AutoencoderTiny)"), e);
        Files.writeString(dir.resolve("config.json"), "{\"_class_name\": \"AutoencoderTiny\", \"act_fn\": \"mish\"}");
        e = assertThrows(UserError.class, () -> Vae.load(dir)).getMessage();
        assertTrue(e.contains("act_fn 'mish'"), "the config is checked before the weights are looked for: " + e);
        Files.writeString(dir.resolve("config.json"), "{\"_class_name\": \"AutoencoderTiny\"}");
        e = assertThrows(UserError.class, () -> Vae.load(dir)).getMessage();
        assertTrue(e.contains("no safetensors weights (diffusion_pytorch_model.safetensors"), e);
        assertTrue(assertThrows(UserError.class, () -> Vae.load(tmp.resolve("missing"))).getMessage().contains("not a folder"));
    }
}
