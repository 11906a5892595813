package dev.stitch.engine.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The three whole-pipeline cases of the conformance set (README (e)): final latents, image and PNG vs diffusers, on the
 * CPU backend (what users run), and one case on the reference backend (the oracle).
 */
class PipelineConformanceTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path GOLDEN = CONFORMANCE.resolve("golden"), MODEL = CONFORMANCE.resolve("tiny-sd2");
    static StableDiffusionPipeline pipe;
    static String prompt;

    @BeforeAll
    static void load() throws IOException {
        assumeTrue(Files.isDirectory(MODEL), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        pipe = StableDiffusionPipeline.load(MODEL);
        prompt = new ObjectMapper().readTree(GOLDEN.resolve("prompts.json").toFile()).get(1).asText();
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            assertTrue(Float.isFinite(a[i]), "non-finite value at " + i);
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    void check(String name, SchedulerKind scheduler, int steps, Prediction prediction, TimestepSpacing spacing, Backend backend) {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve(name + ".safetensors"));
        Tensor noise = Tensor.of(g.floats("init_noise"), g.entry("init_noise").intShape());
        GenerateRequest r = pipe.request(prompt).negativePrompt("").steps(steps).scheduler(scheduler).size(192, 128)
            .timestepSpacing(spacing).prediction(prediction).initLatents(noise).build();
        GenerateResult res = pipe.generate(r, backend, Taps.NONE, StableDiffusionPipeline.Progress.NONE);

        assertArrayEquals(g.floats("timesteps"), res.timesteps(), 1e-3f, name + " timesteps");
        assertOutputsMatch(name, g, GOLDEN.resolve(name + ".png"), res, backend);
    }

    /**
     * A pipeline's outputs against a golden's, at the tolerances of conformance/README.md: final latents within
     * 1e-3 × max(1, max|ref|), the decoded image within 2e-3, the PNG within ±1.
     */
    static void assertOutputsMatch(String name, SafeTensors g, Path goldenPng, GenerateResult res, Backend backend) {
        float[] ref = g.floats("final_latents");
        double err = maxAbs(res.latents().data(), ref), tol = 1e-3 * Math.max(1, maxAbs(ref));
        System.out.printf("%s (%s): final latents max-abs %.3g (tolerance %.3g)%n", name, backend.name(), err, tol);
        assertTrue(err <= tol, name + ": final latents max-abs " + err + " > " + tol);
        double imgErr = maxAbs(res.imageRaw().data(), g.floats("image_raw"));
        System.out.printf("%s (%s): image_raw max-abs %.3g%n", name, backend.name(), imgErr);
        assertTrue(imgErr <= 2e-3, name + ": image_raw max-abs " + imgErr);
        byte[] png = Png.read(goldenPng).rgb(), ours = res.pixels()[0];
        int worst = 0;
        for (int i = 0; i < png.length; i++) worst = Math.max(worst, Math.abs((png[i] & 0xff) - (ours[i] & 0xff)));
        System.out.printf("%s (%s): PNG max difference %d%n", name, backend.name(), worst);
        assertTrue(worst <= 1, name + ": PNG differs by " + worst);
    }

    static final Backend CPU = Backends.byName("cpu");

    @Test
    void ddimEpsilon() { check("pipeline_ddim_eps", SchedulerKind.DDIM, 8, null, null, CPU); }

    @Test
    void ddimV() { check("pipeline_ddim_v", SchedulerKind.DDIM, 5, Prediction.V_PREDICTION, null, CPU); }

    @Test
    void eulerV() { check("pipeline_euler_v", SchedulerKind.EULER, 6, Prediction.V_PREDICTION, TimestepSpacing.LINSPACE, CPU); }

    @Test
    void ddimVOnTheReferenceBackend() { check("pipeline_ddim_v", SchedulerKind.DDIM, 5, Prediction.V_PREDICTION, null, ReferenceBackend.INSTANCE); }

    /** The tap catalog runs all three components on the shape-only backend, the VAE encoder included. */
    @Test
    void tapCatalogListsTheTapsOfAllThreeComponents() {
        TapCatalog cat = pipe.tapCatalog(192, 128);
        assertArrayEquals(new int[] {1, 77, 32}, cat.entry("text_encoder.text_model.final_layer_norm").shape());
        assertArrayEquals(new int[] {1, 32, 16, 24}, cat.entry("unet.conv_in").shape());
        assertArrayEquals(new int[] {1, 4, 16, 24}, cat.entry("unet.conv_out").shape());
        assertArrayEquals(new int[] {1, 8, 16, 24}, cat.entry("vae.quant_conv").shape());
        assertEquals(TapLayout.NLC, cat.entry("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2").layout());
        assertTrue(cat.names().stream().anyMatch(n -> n.startsWith("vae.decoder.")), "decoder taps");
        assertTrue(cat.names().stream().anyMatch(n -> n.startsWith("vae.encoder.")), "encoder taps");
    }
}
