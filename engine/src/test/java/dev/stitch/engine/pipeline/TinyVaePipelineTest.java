package dev.stitch.engine.pipeline;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.vae.AutoencoderTiny;
import dev.stitch.engine.vae.Vae;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.stitch.engine.pipeline.PipelineConformanceTest.CONFORMANCE;
import static dev.stitch.engine.pipeline.PipelineConformanceTest.GOLDEN;
import static dev.stitch.engine.pipeline.PipelineConformanceTest.MODEL;
import static dev.stitch.engine.pipeline.PipelineConformanceTest.maxAbs;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * tiny-sd2 with the tiny AutoencoderTiny swapped in, against diffusers' own StableDiffusionPipeline and
 * StableDiffusionImg2ImgPipeline with the same VAE (conformance/golden/README.md (i)).
 */
class TinyVaePipelineTest {
    static final Path TAESD = CONFORMANCE.resolve("tiny-taesd");
    static StableDiffusionPipeline pipe;
    static final Backend CPU = CpuBackend.shared();

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(TAESD), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        pipe = StableDiffusionPipeline.load(MODEL, TAESD);
    }

    static GenerateRequest.Builder request(SafeTensors g) {
        // the golden's prompt embeddings are tiny-sd2's text encoder on prompts[1] and "" (pipeline_ddim_eps)
        try {
            String prompt = new com.fasterxml.jackson.databind.ObjectMapper().readTree(GOLDEN.resolve("prompts.json").toFile()).get(1).asText();
            return pipe.request(prompt).negativePrompt("").steps(8).guidance(7.5f).size(192, 128);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static void assertLatents(String what, float[] ref, float[] ours) {
        double err = maxAbs(ours, ref), tol = 1e-3 * Math.max(1, PipelineConformanceTest.maxAbs(ref));
        System.out.printf("%s: final latents max-abs %.3g (tolerance %.3g)%n", what, err, tol);
        assertTrue(err <= tol, what + ": final latents max-abs " + err + " > " + tol);
    }

    @Test
    void txt2imgMatchesDiffusersPipelineWithTheTinyVae() {
        assertEquals(VaeKind.TINY, pipe.vae.kind());
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps_taesd.safetensors"));
        GenerateResult res = pipe.generate(request(g).initLatents(g.tensor("init_noise")).build(), CPU, Taps.NONE,
            StableDiffusionPipeline.Progress.NONE);
        assertLatents("txt2img taesd", g.floats("final_latents"), res.latents().data());
        double imgErr = maxAbs(res.imageRaw().data(), g.floats("image_raw"));
        System.out.printf("txt2img taesd: image_raw max-abs %.3g%n", imgErr);
        assertTrue(imgErr <= 1e-3, "image_raw max-abs " + imgErr);
        byte[] png = Png.read(GOLDEN.resolve("pipeline_ddim_eps_taesd.png")).rgb(), ours = res.pixels()[0];
        int worst = 0;
        for (int i = 0; i < png.length; i++) worst = Math.max(worst, Math.abs((png[i] & 0xff) - (ours[i] & 0xff)));
        assertTrue(worst <= 1, "PNG differs by " + worst);
    }

    @Test
    void decodePathMatchesDiffusersOnTheSameLatents() {
        // scaling_factor 1.0: the pipeline's latents / scaling_factor are the latents themselves
        assertEquals(1f, pipe.vae.scalingFactor());
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps_taesd.safetensors"));
        for (Backend ops : new Backend[] {ReferenceBackend.INSTANCE, CPU}) {
            Tensor raw = pipe.vae.decode(new Ctx(ops), ops.fromHost(g.floats("final_latents"), g.tensor("final_latents").shape()));
            double err = maxAbs(ops.toHost(raw), g.floats("image_raw"));
            System.out.printf("taesd decode of the final latents (%s): max-abs %.3g%n", ops.name(), err);
            assertTrue(err <= 1e-4, ops.name() + ": image_raw max-abs " + err);
        }
    }

    @Test
    void img2imgMatchesDiffusersAndDrawsNoEncoderSample() {
        // diffusers' retrieve_latents takes AutoencoderTiny's .latents: the generator's first draw is the noise
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("img2img_ddim_eps_taesd.safetensors"));
        RgbImage init = Png.read(GOLDEN.resolve("pipeline_ddim_eps_taesd.png"));
        GenerateRequest r = request(g).initImage(Images.fromUint8(new byte[][] {init.rgb()}, init.height(), init.width()))
            .strength(0.6f).seed(7).build();
        GenerateResult res = pipe.generate(r, CPU, Taps.NONE, StableDiffusionPipeline.Progress.NONE);
        assertLatents("img2img taesd", g.floats("final_latents"), res.latents().data());
        double imgErr = maxAbs(res.imageRaw().data(), g.floats("image_raw"));
        assertTrue(imgErr <= 1e-3, "image_raw max-abs " + imgErr);
    }

    @Test
    void withVaeSwapsTheDecoderAndRefusesAMismatchedOne(@TempDir Path tmp) throws IOException {
        StableDiffusionPipeline own = StableDiffusionPipeline.load(MODEL);
        assertEquals(VaeKind.KL, own.vae.kind());
        StableDiffusionPipeline swapped = own.withVae(Vae.load(TAESD), TAESD);
        assertInstanceOf(AutoencoderTiny.class, swapped.vae);
        assertSame(own.unet, swapped.unet);
        // a VAE whose latents the UNet cannot take
        Path odd = tmp.resolve("vae");
        Files.createDirectories(odd);
        Files.writeString(odd.resolve("config.json"), Files.readString(TAESD.resolve("config.json")).replace("\"latent_channels\": 4", "\"latent_channels\": 16"));
        RandomModel.writeVaeWeights(odd, 1, dev.stitch.kernels.DType.F32);
        UserError e = assertThrows(UserError.class, () -> StableDiffusionPipeline.load(MODEL, odd));
        assertTrue(e.getMessage().contains("16 latent channels, but the UNet takes 4"), e.getMessage());
    }
}
