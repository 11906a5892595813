package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.taps.ModelCall;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The UNet against diffusers' outputs and module activations on the tiny SD2 model (conformance/golden (c), (f)). */
class UNet2DConditionModelTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path UNET_DIR = CONFORMANCE.resolve("tiny-sd2/unet");
    static final Path GOLDEN = CONFORMANCE.resolve("golden");
    static final Ctx REF = new Ctx(ReferenceBackend.INSTANCE);

    static UNet2DConditionModel unet;

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(UNET_DIR) && Files.isDirectory(GOLDEN),
            "conformance data not found at " + CONFORMANCE);
        unet = UNet2DConditionModel.load(UNET_DIR);
    }

    /** A Taps that keeps every value it sees (observer only). */
    static final class Recorder implements Taps {
        final Map<String, Tensor> seen = new LinkedHashMap<>();
        final Map<String, TapLayout> layouts = new LinkedHashMap<>();

        @Override
        public Tensor at(String name, TapLayout layout, Tensor value, ModelCall call) {
            assertFalse(seen.containsKey(name), "tap " + name + " fired twice");
            seen.put(name, value);
            layouts.put(name, layout);
            return value;
        }
    }

    static Tensor run(Ctx c, UNet2DConditionModel m, SafeTensors g) {
        return m.forward(c, g.tensor("sample"), g.floats("timestep"), g.tensor("encoder_hidden_states"));
    }

    static double maxAbs(Tensor a, Tensor b) {
        assertArrayEquals(b.shape(), a.shape());
        float[] x = a.data(), y = b.data();
        double m = 0;
        for (int i = 0; i < x.length; i++) {
            assertTrue(Float.isFinite(x[i]), "non-finite value at " + i);
            m = Math.max(m, Math.abs((double) x[i] - y[i]));
        }
        return m;
    }

    @Test
    void unetAMatchesDiffusers() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_A.safetensors"));
        double err = maxAbs(run(REF, unet, g), g.tensor("out"));
        System.out.printf("unet_A (batch 2, t=801): max abs error %.3g%n", err);
        assertTrue(err <= 1e-4, "max abs error " + err);
    }

    @Test
    void unetBMatchesDiffusersAtFractionalTimestep() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_B.safetensors"));
        assertEquals(437.25f, g.floats("timestep")[0]);
        double err = maxAbs(run(REF, unet, g), g.tensor("out"));
        System.out.printf("unet_B (batch 1, t=437.25): max abs error %.3g%n", err);
        assertTrue(err <= 1e-4, "max abs error " + err);
    }

    @Test
    void tapsMatchDiffusersModuleOutputs() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_A_activations.safetensors"));
        Recorder rec = new Recorder();
        run(new Ctx(ReferenceBackend.INSTANCE, rec), unet, g);

        int compared = 0;
        double worst = 0;
        for (String key : g.names()) {
            if (!key.startsWith("act.")) continue;
            String module = key.substring(4);
            String tap = "unet." + (module.matches("down_blocks\\.\\d+\\.skip\\d+") ? skipTap(module) : module);
            Tensor mine = rec.seen.get(tap);
            assertTrue(mine != null, "no tap " + tap + " for " + key);
            double err = maxAbs(mine, g.tensor(key));
            worst = Math.max(worst, err);
            assertTrue(err <= 1e-4, key + ": max abs error " + err);
            compared++;
        }
        System.out.printf("activations: %d tensors compared, worst max abs error %.3g%n", compared, worst);
        assertEquals(23 + 11, compared);   // 23 hooked modules + the 11 skip tensors

        // the layouts the taps declare
        assertEquals(TapLayout.NC, rec.layouts.get("unet.time_embedding"));
        assertEquals(TapLayout.NLC, rec.layouts.get("unet.down_blocks.0.attentions.0.proj_in"));
        assertEquals(TapLayout.NLC, rec.layouts.get("unet.up_blocks.3.attentions.2.transformer_blocks.0.norm3"));
        assertEquals(TapLayout.NCHW, rec.layouts.get("unet.mid_block"));
        assertEquals(TapLayout.NCHW, rec.layouts.get("unet.up_blocks.2.upsamplers.0"));
    }

    /**
     * down_blocks.i.skipj: layer j's output (its attention if the block has attentions, else its resnet), and the
     * downsampler after the last layer.
     */
    static String skipTap(String module) {
        String block = module.substring(0, module.lastIndexOf('.'));
        int j = Integer.parseInt(module.substring(module.lastIndexOf("skip") + 4));
        int i = Integer.parseInt(block.substring("down_blocks.".length()));
        UNet2DConditionModel.DownBlock d = unet.downBlocks.get(i);
        int layers = d instanceof CrossAttnDownBlock2D ca ? ca.resnets.size() : ((DownBlock2D) d).resnets.size();
        if (j == layers) return block + ".downsamplers.0";
        return block + (d instanceof CrossAttnDownBlock2D ? ".attentions." : ".resnets.") + j;
    }

    @Test
    void tapNamesFollowDiffusersModulePaths() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_B.safetensors"));
        Recorder rec = new Recorder();
        run(new Ctx(ReferenceBackend.INSTANCE, rec), unet, g);
        for (String name : List.of("unet.time_proj", "unet.time_embedding", "unet.conv_in", "unet.down_blocks.0",
                "unet.down_blocks.0.resnets.1", "unet.down_blocks.0.attentions.1.proj_out",
                "unet.down_blocks.1.attentions.0.transformer_blocks.0.norm1",
                "unet.down_blocks.2.attentions.1.transformer_blocks.0.ff", "unet.down_blocks.2.downsamplers.0",
                "unet.down_blocks.3.resnets.1", "unet.mid_block.resnets.0", "unet.mid_block.attentions.0",
                "unet.mid_block.resnets.1", "unet.up_blocks.0.resnets.2", "unet.up_blocks.0.upsamplers.0",
                "unet.up_blocks.1.attentions.2.transformer_blocks.0.attn1", "unet.up_blocks.3",
                "unet.conv_norm_out", "unet.conv_out"))
            assertTrue(rec.seen.containsKey(name), "missing tap " + name);
        // every tap name is a module path of the weights file (or a weightless module diffusers has: time_proj)
        SafeTensors weights = SafeTensors.open(UNET_DIR.resolve(UNet2DConditionModel.WEIGHTS));
        for (String name : rec.seen.keySet()) {
            String path = name.substring("unet.".length());
            if (path.equals("time_proj")) continue;
            boolean owns = weights.names().stream().anyMatch(n -> n.startsWith(path + "."));
            assertTrue(owns, "tap " + name + " names no module of the weights file");
        }
        // the tiny model: 4 down blocks, 2 layers each, 1 transformer block per attention
        long transformerTaps = rec.seen.keySet().stream().filter(n -> n.matches(".*transformer_blocks\\.\\d+")).count();
        assertEquals(3 * 2 + 1 + 3 * 3, transformerTaps);
    }

    @Test
    void editorsChangeWhatTheModelContinuesWith() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_B.safetensors"));
        Tensor base = run(REF, unet, g);

        // replacing every value by an equal copy must not change anything (each returned tensor is used)
        Tensor copied = run(new Ctx(ReferenceBackend.INSTANCE, (n, l, v, call) -> Tensor.of(v.data().clone(), v.shape())), unet, g);
        assertEquals(0.0, maxAbs(copied, base));

        // doubling the output of the last down block (also its last skip) changes the prediction
        Recorder rec = new Recorder();
        Taps edit = (n, l, v, call) -> rec.at(n, l, n.equals("unet.down_blocks.3") ? ReferenceBackend.INSTANCE.scale(v, 2f) : v, call);
        Tensor edited = run(new Ctx(ReferenceBackend.INSTANCE, edit), unet, g);
        assertTrue(maxAbs(edited, base) > 1e-3, "the edit had no effect");
    }

    @Test
    void oddLatentSizesWork() {
        Random r = new Random(7);
        int b = 1, h = 9, w = 13;
        Tensor sample = Tensor.of(gaussian(r, b * 4 * h * w), b, 4, h, w);
        Tensor ctx = Tensor.of(gaussian(r, b * 77 * 32), b, 77, 32);
        Recorder rec = new Recorder();
        Tensor out = unet.forward(new Ctx(ReferenceBackend.INSTANCE, rec), sample, new float[] {500.5f}, ctx);
        assertArrayEquals(new int[] {b, 4, h, w}, out.shape());
        for (float v : out.data()) assertTrue(Float.isFinite(v));
        // 9×13 → 5×7 → 3×4 → 2×2, and each upsampler resizes to the skip it meets
        assertArrayEquals(new int[] {b, 64, 2, 2}, rec.seen.get("unet.mid_block").shape());
        assertArrayEquals(new int[] {b, 64, 3, 4}, rec.seen.get("unet.up_blocks.0").shape());
        assertArrayEquals(new int[] {b, 64, 5, 7}, rec.seen.get("unet.up_blocks.1").shape());
        assertArrayEquals(new int[] {b, 32, 9, 13}, rec.seen.get("unet.up_blocks.2").shape());
    }

    /** SD 1.x-style 1×1-conv projections: the same weights as convs must give the linear model's output. */
    @Test
    void convProjectionMatchesLinearProjection() throws Exception {
        String json = Files.readString(UNET_DIR.resolve("config.json")).replace("\"use_linear_projection\": true",
            "\"use_linear_projection\": false");
        UNetConfig cfg = UNetConfig.parse("test config", json);
        assertFalse(cfg.useLinearProjection());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        SafeTensors file = SafeTensors.open(UNET_DIR.resolve(UNet2DConditionModel.WEIGHTS));
        for (String n : file.names()) {
            Tensor t = file.tensor(n);
            if (n.matches(".*attentions\\.\\d+\\.proj_(in|out)\\.weight")) t = t.reshape(t.dim(0), t.dim(1), 1, 1);
            tensors.put(n, t);
        }
        UNet2DConditionModel conv = new UNet2DConditionModel(cfg, Weights.of("unet", "test", tensors));
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_B.safetensors"));
        Recorder rec = new Recorder();
        double err = maxAbs(run(new Ctx(ReferenceBackend.INSTANCE, rec), conv, g), g.tensor("out"));
        assertTrue(err <= 1e-4, "max abs error " + err);
        assertEquals(TapLayout.NCHW, rec.layouts.get("unet.down_blocks.0.attentions.0.proj_in"));
        assertEquals(4, rec.seen.get("unet.down_blocks.0.attentions.0.proj_in").rank());
    }

    /** The fp16 variant is found by load() and widened exactly: same output as f32 weights rounded to f16. */
    @Test
    void loadsTheFp16Variant(@TempDir Path dir) throws Exception {
        Files.copy(UNET_DIR.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors file = SafeTensors.open(UNET_DIR.resolve(UNet2DConditionModel.WEIGHTS));
        SafeTensorsWriter writer = new SafeTensorsWriter();
        Map<String, Tensor> rounded = new LinkedHashMap<>();
        for (String n : file.names()) {
            Tensor t = file.tensor(n);
            writer.add(n, t, DType.F16);
            float[] v = t.data().clone();
            for (int i = 0; i < v.length; i++) v[i] = DType.f16ToF32(DType.f32ToF16(v[i]));
            rounded.put(n, Tensor.of(v, t.shape()));
        }
        writer.write(dir.resolve(UNet2DConditionModel.WEIGHTS_FP16));
        UNet2DConditionModel half = UNet2DConditionModel.load(dir);
        UNet2DConditionModel reference = new UNet2DConditionModel(half.config, Weights.of("unet", "rounded", rounded));
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_B.safetensors"));
        assertEquals(0.0, maxAbs(run(REF, half, g), run(REF, reference, g)));
    }

    @Test
    void unsupportedConfigValueIsOneLineNamingKeyAndValue() throws Exception {
        String json = Files.readString(UNET_DIR.resolve("config.json"));
        for (String[] edit : new String[][] {
                {"\"class_embed_type\": null", "\"class_embed_type\": \"timestep\"", "class_embed_type = \"timestep\""},
                {"\"addition_embed_type\": null", "\"addition_embed_type\": \"text_time\"", "addition_embed_type"},
                {"\"dual_cross_attention\": false", "\"dual_cross_attention\": true", "dual_cross_attention = true"},
                {"\"time_embedding_type\": \"positional\"", "\"time_embedding_type\": \"fourier\"", "\"fourier\""},
                {"\"resnet_time_scale_shift\": \"default\"", "\"resnet_time_scale_shift\": \"scale_shift\"", "resnet_time_scale_shift"},
                {"\"DownBlock2D\"\n", "\"SimpleCrossAttnDownBlock2D\"\n", "SimpleCrossAttnDownBlock2D"},
                {"\"layers_per_block\": 2", "\"layers_per_block\": \"two\"", "layers_per_block = \"two\""}}) {
            String bad = json.replace(edit[0], edit[1]);
            assertNotEquals(json, bad, "edit did not apply: " + edit[0]);
            UserError e = assertThrows(UserError.class, () -> UNetConfig.parse("unet/config.json", bad));
            assertTrue(e.getMessage().startsWith("unet/config.json: "), e.getMessage());
            assertTrue(e.getMessage().contains(edit[2]), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void plainKeysAreReadThroughJsonConfig() {
        UserError e = assertThrows(UserError.class, () -> UNetConfig.parse("c.json", "{\"in_channels\": 4.5}"));
        assertEquals("c.json: in_channels must be a positive integer, got 4.5", e.getMessage());
        e = assertThrows(UserError.class, () -> UNetConfig.parse("c.json", "{\"upcast_attention\": \"yes\"}"));
        assertEquals("c.json: upcast_attention must be true or false, got \"yes\"", e.getMessage());
        e = assertThrows(UserError.class, () -> UNetConfig.load(Path.of("no-such-dir", "config.json")));
        assertTrue(e.getMessage().endsWith("config.json: no such file"), e.getMessage());
    }

    @Test
    void sd2ConfigsExpandAsDiffusersDoes() {
        // stabilityai/stable-diffusion-2-1 unet/config.json (the keys that matter)
        String sd21 = """
            {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": [5, 10, 20, 20],
             "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false, "cross_attention_dim": 1024,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
             "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
             "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4,
             "sample_size": 96, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
             "upcast_attention": true, "use_linear_projection": true}""";
        UNetConfig c = UNetConfig.parse("sd21", sd21);
        assertEquals(List.of(5, 10, 20, 20), c.heads());
        for (int i = 0; i < 4; i++) assertEquals(64, c.blockOutChannels().get(i) / c.heads().get(i));
        assertEquals(List.of(1024, 1024, 1024, 1024), c.crossAttentionDim());
        assertEquals(1280, c.timeEmbedDim());
        assertEquals(List.of(1, 1), c.transformerLayersDown().getFirst());
        assertEquals(List.of(1, 1, 1), c.transformerLayersUp().getFirst());
        assertTrue(c.upcastAttention());

        // per-block transformer depths, reversed for the up blocks with one more layer each
        UNetConfig deep = UNetConfig.parse("deep", sd21.replace("\"layers_per_block\": 2",
            "\"layers_per_block\": [1, 2, 2, 3], \"transformer_layers_per_block\": [1, 2, 3, 4]"));
        assertEquals(List.of(List.of(1), List.of(2, 2), List.of(3, 3), List.of(4, 4, 4)), deep.transformerLayersDown());
        assertEquals(List.of(List.of(4, 4, 4, 4), List.of(3, 3, 3), List.of(2, 2, 2), List.of(1, 1)), deep.transformerLayersUp());
        assertEquals(4, deep.midTransformerLayers());

        // num_attention_heads, when given, is the head count
        UNetConfig heads = UNetConfig.parse("heads", sd21.replace("\"attention_head_dim\": [5, 10, 20, 20]",
            "\"attention_head_dim\": 64, \"num_attention_heads\": [5, 10, 20, 20]"));
        assertEquals(List.of(5, 10, 20, 20), heads.heads());

        // diffusers' defaults for absent keys are SD 1.x's
        UNetConfig defaults = UNetConfig.parse("empty", "{}");
        assertEquals(List.of(320, 640, 1280, 1280), defaults.blockOutChannels());
        assertEquals(List.of(8, 8, 8, 8), defaults.heads());
        assertFalse(defaults.useLinearProjection());
        assertEquals(1e-5f, defaults.normEps());
    }

    @Test
    void wrongWeightShapeNamesTheTensor() {
        Map<String, Tensor> tensors = fileTensors();
        String name = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        tensors.put(name, Tensor.zeros(32, 16));
        UserError e = assertThrows(UserError.class,
            () -> new UNet2DConditionModel(unet.config, Weights.of("unet", "tiny.safetensors", tensors)));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("[32, 16]"), e.getMessage());
    }

    @Test
    void unusedWeightsAreListed() {
        Map<String, Tensor> tensors = fileTensors();
        tensors.put("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.bias", Tensor.zeros(32));
        tensors.put("time_embedding.cond_proj.weight", Tensor.zeros(32, 8));
        UserError e = assertThrows(UserError.class,
            () -> new UNet2DConditionModel(unet.config, Weights.of("unet", "tiny.safetensors", tensors)));
        assertTrue(e.getMessage().contains("2 tensor(s) not used")
            && e.getMessage().contains("time_embedding.cond_proj.weight")
            && e.getMessage().contains("attn1.to_q.bias"), e.getMessage());
    }

    static Map<String, Tensor> fileTensors() {
        SafeTensors file = SafeTensors.open(UNET_DIR.resolve(UNet2DConditionModel.WEIGHTS));
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : file.names()) m.put(n, file.tensor(n));
        return m;
    }

    static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
