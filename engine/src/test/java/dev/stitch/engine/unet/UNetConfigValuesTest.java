package dev.stitch.engine.unet;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Values that used to crash later (divide by zero, zero sizes, overflow) are refused by key when the config is read. */
class UNetConfigValuesTest {
    private static void refused(String json, String key) {
        UserError e = assertThrows(UserError.class, () -> UNetConfig.parse("unet/config.json", json), json);
        assertTrue(e.getMessage().startsWith("unet/config.json: " + key), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void zeroNegativeAndNonFiniteValuesAreRefused() {
        refused("{\"norm_num_groups\": 0}", "norm_num_groups");
        refused("{\"norm_num_groups\": -32}", "norm_num_groups");
        refused("{\"sample_size\": 0}", "sample_size");
        refused("{\"in_channels\": 0}", "in_channels");
        refused("{\"time_embedding_dim\": -4}", "time_embedding_dim");
        refused("{\"norm_eps\": 0}", "norm_eps");
        refused("{\"block_out_channels\": [1073741824, 1073741824, 1073741824, 1073741824], \"norm_num_groups\": 1,"
            + " \"attention_head_dim\": 1}", "block_out_channels");
        refused("{\"layers_per_block\": 4294967298}", "layers_per_block");
    }

    @Test
    void theDefaultsStillRead() {
        UNetConfig c = UNetConfig.parse("empty", "{}");
        assertEquals(64, c.sampleSize());
        assertEquals(32, c.normNumGroups());
        assertEquals(1280, c.timeEmbedDim());
    }
}
