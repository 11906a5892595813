package dev.stitch.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.schedulers.Prediction;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Config inference at SD2's real size (names and shapes only: no tensor is read). */
class Sd2ShapesTest {
    @Test
    void fullSizeSd2InfersTheReleasedConfigs() {
        var plan = LdmToDiffusers.plan(Sd2Shapes.checkpoint(Path.of("v2-1_768-ema-pruned.safetensors"), SafeDType.F16), null, null);
        var c = plan.config();
        assertArrayEquals(new int[] {5, 10, 20, 20}, c.heads(), "SD2's attention_head_dim");
        assertEquals(Prediction.V_PREDICTION, c.prediction());
        assertEquals(96, c.sampleSize());
        var configs = DiffusersConfigs.build(c, SafeDType.F16);
        ObjectNode unet = configs.get("unet");
        assertEquals("[320,640,1280,1280]", unet.get("block_out_channels").toString());
        assertEquals("[5,10,20,20]", unet.get("attention_head_dim").toString());
        assertEquals(1024, unet.get("cross_attention_dim").asInt());
        assertTrue(unet.get("use_linear_projection").asBoolean());
        assertEquals("[\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\",\"DownBlock2D\"]", unet.get("down_block_types").toString());
        ObjectNode text = configs.get("text_encoder");
        assertEquals(1024, text.get("hidden_size").asInt());
        assertEquals(16, text.get("num_attention_heads").asInt());
        assertEquals(23, text.get("num_hidden_layers").asInt());
        assertEquals(4096, text.get("intermediate_size").asInt());
        assertEquals("[128,256,512,512]", configs.get("vae").get("block_out_channels").toString());
        assertEquals(768, configs.get("vae").get("sample_size").asInt());
        assertEquals("v_prediction", configs.get("scheduler").get("prediction_type").asText());
        // every tensor accounted for: 686 UNet, 248 VAE, 373 text-encoder tensors (position_ids made, not read)
        assertEquals(List.of(686, 248, 373), LdmToDiffusers.COMPONENTS.stream().map(k -> plan.components().get(k).size()).toList());
        assertTrue(plan.decisions().stream().anyMatch(d -> d.contains("head width 64")), plan.decisions().toString());
    }

    @Test
    void fullSizeBaseModelIsEpsilonAt512() {
        var plan = LdmToDiffusers.plan(Sd2Shapes.checkpoint(Path.of("v2-1_512-ema-pruned.ckpt"), SafeDType.F16), null, null);
        assertEquals(Prediction.EPSILON, plan.config().prediction());
        assertEquals(64, plan.config().sampleSize());
    }

    /** SD 1.5 at real size, without a yaml: the released runwayml/stable-diffusion-v1-5 configs from the conventions. */
    @Test
    void fullSizeSd15InfersTheReleasedConfigs() {
        var plan = LdmToDiffusers.plan(Sd2Shapes.checkpoint(Sd2Shapes.SD15, Path.of("v1-5-pruned-emaonly.safetensors"), SafeDType.F16), null, null);
        var c = plan.config();
        assertEquals(LdmNames.Family.SD1, c.layout().family());
        assertArrayEquals(new int[] {8, 8, 8, 8}, c.heads());
        assertEquals(Prediction.EPSILON, c.prediction());
        assertEquals(64, c.sampleSize());
        var configs = DiffusersConfigs.build(c, SafeDType.F16);
        ObjectNode unet = configs.get("unet");
        assertEquals(8, unet.get("attention_head_dim").asInt(), "one number, as SD 1.5's config has it");
        assertEquals(768, unet.get("cross_attention_dim").asInt());
        assertFalse(unet.get("use_linear_projection").asBoolean());
        ObjectNode text = configs.get("text_encoder");
        assertEquals("quick_gelu", text.get("hidden_act").asText());
        assertEquals(768, text.get("hidden_size").asInt());
        assertEquals(12, text.get("num_attention_heads").asInt());
        assertEquals(12, text.get("num_hidden_layers").asInt());
        assertEquals(3072, text.get("intermediate_size").asInt());
        assertEquals(512, configs.get("vae").get("sample_size").asInt());
        assertEquals("PNDMScheduler", configs.get("scheduler").get("_class_name").asText());
        assertTrue(configs.get("scheduler").get("skip_prk_steps").asBoolean());
        assertEquals("PNDMScheduler", configs.get("model_index").get("scheduler").get(1).asText());
        // 686 UNet, 248 VAE and 197 text-encoder tensors (12 layers x 16 + 4, position_ids made, not read)
        assertEquals(List.of(686, 248, 197), LdmToDiffusers.COMPONENTS.stream().map(k -> plan.components().get(k).size()).toList());
    }
}
