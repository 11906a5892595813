package dev.stitch.engine.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.taps.ModelCall;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.text.ClipTextConfig;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.stitch.engine.pipeline.PipelineConformanceTest.maxAbs;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tiny SD 1.x model ({@code conformance/tiny-sd1}) against diffusers 0.25.1 ({@code conformance/golden/sd1}):
 * tokenizer padding, the quick-GELU text encoder (last layer + final layer norm), the UNet with one head count for
 * every level and 1×1-conv projections, and the whole PNDM pipeline with guidance, on the reference and CPU backends.
 */
class Sd1ConformanceTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path MODEL = CONFORMANCE.resolve("tiny-sd1"), GOLDEN = CONFORMANCE.resolve("golden/sd1");
    static final Backend CPU = Backends.byName("cpu");
    static StableDiffusionPipeline pipe;

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(MODEL), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        pipe = StableDiffusionPipeline.load(MODEL);
    }

    static int[][] ids(SafeTensors g, String name) {
        int[] shape = g.entry(name).intShape();
        long[] flat = g.longs(name);
        int[][] out = new int[shape[0]][shape[1]];
        for (int i = 0; i < flat.length; i++) out[i / shape[1]][i % shape[1]] = Math.toIntExact(flat[i]);
        return out;
    }

    @Test
    void configsAreSd1s() {
        assertEquals(ClipTextConfig.QUICK_GELU, pipe.textEncoder.config.hiddenAct());
        assertEquals(List.of(2, 2, 2, 2), pipe.unet.config.heads(), "attention_head_dim 2: two heads on every level");
        assertFalse(pipe.unet.config.useLinearProjection());
        assertEquals(SchedulerKind.PNDM, SchedulerKind.of(pipe.schedulerConfig));
        assertEquals(49407, pipe.tokenizer.padId(), "SD 1.x pads with <|endoftext|>");
    }

    @Test
    void promptsTokenizeAsSd1sTokenizer() throws IOException {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("text_encoder.safetensors"));
        String[] prompts = new ObjectMapper().readValue(CONFORMANCE.resolve("golden/prompts.json").toFile(), String[].class);
        int[][] expected = ids(g, "input_ids");
        for (int i = 0; i < prompts.length; i++) assertArrayEquals(expected[i], pipe.tokenizer.encode(prompts[i]), "prompt " + i);
    }

    @Test
    void textEncoderMatchesOnBothBackends() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("text_encoder.safetensors"));
        for (Backend b : List.of(ReferenceBackend.INSTANCE, CPU)) {
            Tensor out = pipe.textEncoder.forward(new Ctx(b), ids(g, "input_ids"));
            assertArrayEquals(g.entry("last_hidden_state").intShape(), out.shape());
            double err = maxAbs(out.data(), g.floats("last_hidden_state"));
            System.out.printf("sd1 text encoder (%s): max abs %.3g%n", b.name(), err);
            assertTrue(err <= 1e-4, b.name() + ": max abs " + err);
        }
    }

    @Test
    void unetCallsMatchOnBothBackends() {
        for (String name : List.of("unet_A", "unet_B")) {
            SafeTensors g = SafeTensors.open(GOLDEN.resolve(name + ".safetensors"));
            for (Backend b : List.of(ReferenceBackend.INSTANCE, CPU)) {
                Tensor out = pipe.unet.forward(new Ctx(b), g.tensor("sample"), g.floats("timestep"), g.tensor("encoder_hidden_states"));
                double err = maxAbs(out.data(), g.floats("out"));
                System.out.printf("sd1 %s (%s): max abs %.3g%n", name, b.name(), err);
                assertTrue(err <= 1e-4, name + " " + b.name() + ": max abs " + err);
            }
        }
    }

    /** The taps have SD2's names; proj_in/proj_out keep the 1×1 conv's NCHW layout, as diffusers' modules do. */
    @Test
    void tapsMatchDiffusersModuleOutputs() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("unet_A.safetensors"));
        Map<String, Tensor> seen = new LinkedHashMap<>();
        Map<String, TapLayout> layouts = new LinkedHashMap<>();
        Taps rec = (String name, TapLayout layout, Tensor value, ModelCall call) -> {
            seen.put(name, value);
            layouts.put(name, layout);
            return value;
        };
        pipe.unet.forward(new Ctx(ReferenceBackend.INSTANCE, rec), g.tensor("sample"), g.floats("timestep"), g.tensor("encoder_hidden_states"));
        int compared = 0;
        for (String key : g.names()) {
            if (!key.startsWith("act.")) continue;
            Tensor mine = seen.get("unet." + key.substring(4));
            assertNotNull(mine, "no tap for " + key);
            assertArrayEquals(g.entry(key).intShape(), mine.shape(), key);
            double err = maxAbs(mine.data(), g.floats(key));
            assertTrue(err <= 1e-4, key + ": max abs " + err);
            compared++;
        }
        assertEquals(10, compared);
        assertEquals(TapLayout.NCHW, layouts.get("unet.down_blocks.0.attentions.0.proj_in"));
        assertEquals(TapLayout.NCHW, layouts.get("unet.down_blocks.0.attentions.0.proj_out"));
        assertEquals(TapLayout.NLC, layouts.get("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2"));
    }

    void pipeline(Backend backend) throws IOException {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_pndm.safetensors"));
        String prompt = new ObjectMapper().readTree(CONFORMANCE.resolve("golden/prompts.json").toFile()).get(1).asText();
        Tensor noise = Tensor.of(g.floats("init_noise"), g.entry("init_noise").intShape());
        GenerateRequest r = pipe.request(prompt).negativePrompt("").steps(6).size(192, 128).initLatents(noise).build();
        GenerateResult res = pipe.generate(r, backend, Taps.NONE, StableDiffusionPipeline.Progress.NONE);

        assertArrayEquals(g.floats("timesteps"), res.timesteps(), 0f, "PNDM (skip_prk_steps) timesteps");
        PipelineConformanceTest.assertOutputsMatch("sd1 pipeline_pndm", g, GOLDEN.resolve("pipeline_pndm.png"), res, backend);
    }

    /** diffusers' StableDiffusionImg2ImgPipeline: PNDM, CFG 7.5, strength 0.5 from the SD-Turbo goldens' test card, seed 42. */
    void img2img(Backend backend) throws IOException {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("img2img_pndm.safetensors"));
        String prompt = new ObjectMapper().readTree(CONFORMANCE.resolve("golden/prompts.json").toFile()).get(1).asText();
        byte[] card = Png.read(CONFORMANCE.resolve("golden/turbo_img2img_init.png")).rgb();
        GenerateRequest r = pipe.request(prompt).negativePrompt("").steps(6).seed(42).size(192, 128)
            .initImage(Images.fromUint8(new byte[][] {card}, 128, 192)).strength(0.5f).build();
        GenerateResult res = pipe.generate(r, backend, Taps.NONE, StableDiffusionPipeline.Progress.NONE);

        assertArrayEquals(g.floats("timesteps"), res.timesteps(), 0f, "the PNDM schedule img2img starts halfway into");
        PipelineConformanceTest.assertOutputsMatch("sd1 img2img_pndm", g, GOLDEN.resolve("img2img_pndm.png"), res, backend);
    }

    @Test
    void img2imgMatchesDiffusersOnTheCpuBackend() throws IOException { img2img(CPU); }

    @Test
    void img2imgMatchesDiffusersOnTheReferenceBackend() throws IOException { img2img(ReferenceBackend.INSTANCE); }

    @Test
    void pipelineMatchesDiffusersOnTheCpuBackend() throws IOException { pipeline(CPU); }

    @Test
    void pipelineMatchesDiffusersOnTheReferenceBackend() throws IOException { pipeline(ReferenceBackend.INSTANCE); }
}
