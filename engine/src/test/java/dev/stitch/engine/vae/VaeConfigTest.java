package dev.stitch.engine.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class VaeConfigTest {
    static JsonNode json(String s) throws Exception { return new ObjectMapper().readTree(s); }

    @Test
    void readsTheTinyConfig() {
        Path file = AutoencoderKLGoldenTest.CONFORMANCE.resolve("tiny-sd2/vae/config.json");
        assumeTrue(Files.exists(file), "conformance data not found at " + file);
        VaeConfig c = VaeConfig.load(file);
        assertArrayEquals(new int[]{32, 32, 32, 64}, c.blockOutChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(4, c.latentChannels());
        assertEquals(0.18215f, c.scalingFactor());
        assertTrue(c.forceUpcast());
    }

    @Test
    void absentKeysTakeDiffusersDefaults() throws Exception {
        VaeConfig c = VaeConfig.parse("config.json", json("{\"_class_name\": \"AutoencoderKL\", \"sample_size\": 768}"));
        assertArrayEquals(new int[]{64}, c.blockOutChannels());
        assertEquals(1, c.layersPerBlock());
        assertEquals(3, c.inChannels());
        assertEquals(32, c.normNumGroups());
        assertEquals(0.18215f, c.scalingFactor());
        assertEquals(768, c.sampleSize());
        assertTrue(c.useQuantConv() && c.usePostQuantConv() && c.midBlockAddAttention());
    }

    @Test
    void laterDiffusersSwitchesAreRead() throws Exception {
        VaeConfig c = VaeConfig.parse("config.json", json("{\"use_quant_conv\": false, \"mid_block_add_attention\": false, \"latents_mean\": null}"));
        assertFalse(c.useQuantConv() || c.midBlockAddAttention());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "act_fn|{\"act_fn\": \"gelu\"}",
        "down_block_types|{\"down_block_types\": [\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"], \"block_out_channels\": [32, 64]}",
        "up_block_types|{\"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}",
        "block_out_channels|{\"block_out_channels\": [48]}",
        "layers_per_block|{\"layers_per_block\": 0}",
        "layers_per_block|{\"layers_per_block\": \"2\"}",
        "latent_channels|{\"latent_channels\": 4.5}",
        "scaling_factor|{\"scaling_factor\": \"0.18\"}",
        "_class_name|{\"_class_name\": \"AutoencoderTiny\"}",
        "shift_factor|{\"shift_factor\": 0.0609}",
        "latents_mean|{\"latents_mean\": [0.1, 0.2, 0.3, 0.4]}",
        "use_quant_conv|{\"use_quant_conv\": 1}",
    })
    void unsupportedValuesNameTheKey(String key, String config) {
        UserError e = assertThrows(UserError.class, () -> VaeConfig.parse("vae/config.json", json(config)));
        assertTrue(e.getMessage().startsWith("vae/config.json: " + key + " "), e.getMessage());
    }

    @Test
    void missingOrBrokenFileIsAUserError(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertThrows(UserError.class, () -> VaeConfig.load(dir.resolve("config.json")));
        Files.writeString(dir.resolve("config.json"), "{\"act_fn\": ");
        UserError e = assertThrows(UserError.class, () -> VaeConfig.load(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void zeroSizesAndTooManyLevelsAreRefusedByKey() throws Exception {
        for (String[] c : new String[][] {{"{\"sample_size\": 0}", "sample_size"}, {"{\"norm_num_groups\": 0}", "norm_num_groups"},
                {"{\"block_out_channels\": [" + "32, ".repeat(39) + "32], \"down_block_types\": [], \"up_block_types\": []}", "block_out_channels"}}) {
            UserError e = assertThrows(UserError.class, () -> VaeConfig.parse("vae/config.json", json(c[0])));
            assertTrue(e.getMessage().startsWith("vae/config.json: " + c[1]), e.getMessage());
        }
    }
}
