package dev.stitch.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which files of a repository a pull takes, on the layout of a real SD2 repository (file names as on the Hub). */
class DiffusersFilesTest {
    static final List<String> REPO = List.of(".gitattributes", "README.md", "model_index.json", "v2-1_512-ema-pruned.ckpt", "v2-1_512-ema-pruned.safetensors",
        "feature_extractor/preprocessor_config.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.safetensors", "text_encoder/model.fp16.safetensors", "text_encoder/pytorch_model.bin",
        "text_encoder/flax_model.msgpack",
        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_flax_model.msgpack", "unet/model.onnx",
        "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.bin");

    static JsonNode index() throws Exception {
        return new ObjectMapper().readTree("""
            {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.8.0",
             "feature_extractor": ["transformers", "CLIPImageProcessor"], "requires_safety_checker": false, "safety_checker": [null, null],
             "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}""");
    }

    @Test
    void defaultWeightsConfigsAndWholeNonModelFolders() throws Exception {
        assertEquals(List.of("feature_extractor/preprocessor_config.json", "model_index.json", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.safetensors"), DiffusersFiles.select("o/n", REPO, index(), null));
    }

    @Test
    void aVariantWhereItExistsAndTheDefaultElsewhere() throws Exception {
        List<String> got = DiffusersFiles.select("o/n", REPO, index(), "fp16");
        assertTrue(got.contains("unet/diffusion_pytorch_model.fp16.safetensors") && got.contains("text_encoder/model.fp16.safetensors"), got.toString());
        assertTrue(got.contains("vae/diffusion_pytorch_model.safetensors") && !got.contains("unet/diffusion_pytorch_model.safetensors"), got.toString());
        UserError e = assertThrows(UserError.class, () -> DiffusersFiles.select("o/n", REPO, index(), "ema"));
        assertTrue(e.getMessage().contains("no component has ema weights"), e.getMessage());
    }

    @Test
    void aComponentWithPickledWeightsOnlyIsRefused() throws Exception {
        List<String> pickled = REPO.stream().filter(f -> !f.startsWith("vae/diffusion_pytorch_model.safetensors")).toList();
        UserError e = assertThrows(UserError.class, () -> DiffusersFiles.select("o/n", pickled, index(), null));
        assertTrue(e.getMessage().startsWith("o/n: vae: no safetensors weights"), e.getMessage());
    }
}
