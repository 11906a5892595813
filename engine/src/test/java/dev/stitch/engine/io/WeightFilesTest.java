package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The variant rule of diffusers 0.25.1 on the file names of one component folder. */
class WeightFilesTest {
    static final String F32 = "diffusion_pytorch_model.safetensors", F16 = "diffusion_pytorch_model.fp16.safetensors";

    @Test
    void defaultFilesUnlessAVariantIsAskedFor() {
        List<String> both = List.of("config.json", F32, F16, "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin");
        assertEquals(F32, WeightFiles.choose("unet", both, null));
        assertEquals(F16, WeightFiles.choose("unet", both, "fp16"));
        // a component without the variant loads its default weights, as diffusers does
        assertEquals(F32, WeightFiles.choose("unet", List.of("config.json", F32), "fp16"));
        assertEquals("model.fp16.safetensors", WeightFiles.choose("text_encoder", List.of("config.json", "model.safetensors", "model.fp16.safetensors"), "fp16"));
    }

    @Test
    void theOnlyVariantIsTakenWithoutAFlagButSeveralNeedOne() {
        assertEquals(F16, WeightFiles.choose("unet", List.of("config.json", F16), null));
        List<String> two = List.of("config.json", F16, "diffusion_pytorch_model.ema.safetensors");
        UserError e = assertThrows(UserError.class, () -> WeightFiles.choose("unet", two, null));
        assertTrue(e.getMessage().startsWith("unet: no default weights") && e.getMessage().contains("ema, fp16") && e.getMessage().contains("--variant"), e.getMessage());
        assertEquals("diffusion_pytorch_model.ema.safetensors", WeightFiles.choose("unet", two, "ema"));
        e = assertThrows(UserError.class, () -> WeightFiles.choose("unet", two, "bf16"));
        assertTrue(e.getMessage().contains("no bf16 variant"), e.getMessage());
    }

    @Test
    void shardIndexesCountAndShardsDoNot() {
        List<String> sharded = List.of("config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.fp16.json", "model.fp16-00001-of-00002.safetensors", "model.fp16-00002-of-00002.safetensors");
        assertEquals("model.safetensors.index.json", WeightFiles.choose("text_encoder", sharded, null));
        assertEquals("model.safetensors.index.fp16.json", WeightFiles.choose("text_encoder", sharded, "fp16"));
        assertEquals("fp16", WeightFiles.variantOf("model.safetensors.index.fp16.json"));
        assertNull(WeightFiles.variantOf("model.safetensors"));
    }

    @Test
    void pickledWeightsOnlyAreNamed() {
        UserError e = assertThrows(UserError.class, () -> WeightFiles.choose("vae", List.of("config.json", "diffusion_pytorch_model.bin"), null));
        assertTrue(e.getMessage().contains("no safetensors weights") && e.getMessage().contains(".bin"), e.getMessage());
    }
}
