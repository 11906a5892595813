package dev.stitch.engine.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.engine.taps.CfgHalf;
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
import java.util.ArrayList;
import java.util.List;

import static dev.stitch.engine.pipeline.PipelineConformanceTest.maxAbs;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SD-Turbo against diffusers' own StableDiffusionPipeline and StableDiffusionImg2ImgPipeline on the tiny
 * SD-Turbo-shaped model ({@code conformance/tiny-sd-turbo}: sd-turbo's scheduler config, Euler with trailing spacing),
 * guidance 0 (golden README (g)): final latents, image and PNG within the pipeline tolerances, and the UNet calls the
 * run makes — one per step, batch 1, at diffusers' timesteps.
 */
class TurboConformanceTest {
    static final Path CONFORMANCE = PipelineConformanceTest.CONFORMANCE;
    static final Path GOLDEN = CONFORMANCE.resolve("golden"), MODEL = CONFORMANCE.resolve("tiny-sd-turbo");
    static final Backend CPU = Backends.byName("cpu");
    static StableDiffusionPipeline pipe;
    static String prompt;

    @BeforeAll
    static void load() throws IOException {
        assumeTrue(Files.isDirectory(MODEL), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        pipe = StableDiffusionPipeline.load(MODEL);
        prompt = new ObjectMapper().readTree(GOLDEN.resolve("prompts.json").toFile()).get(1).asText();
    }

    /** One UNet call as the pipeline made it: its denoising step, timestep and the halves of its rows. */
    record UnetCall(int step, double timestep, List<CfgHalf> rows) {}

    /** Records every UNet call of a run (its first module, conv_in, runs once per call). */
    static final class UnetCalls implements Taps {
        final List<UnetCall> calls = new ArrayList<>();

        @Override
        public Tensor at(String name, dev.stitch.engine.taps.TapLayout layout, Tensor value, dev.stitch.engine.taps.ModelCall call) {
            if (name.equals("unet.conv_in")) {
                List<CfgHalf> halves = new ArrayList<>();
                for (int i = 0; i < value.dim(0); i++) halves.add(call.half(i));
                calls.add(new UnetCall(call.step(), call.timestep(), halves));
            }
            return value;
        }
    }

    GenerateRequest.Builder request(int steps) {
        return pipe.request(prompt).steps(steps).guidance(0f).seed(42).size(192, 128);
    }

    void check(String name, GenerateRequest r, Backend backend) {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve(name + ".safetensors"));
        UnetCalls seen = new UnetCalls();
        GenerateResult res = pipe.generate(r, backend, seen, StableDiffusionPipeline.Progress.NONE);

        assertArrayEquals(g.floats("timesteps"), res.timesteps(), 1e-3f, name + " timesteps");
        // diffusers' UNet calls: one per step run, batch 1, at these timesteps
        float[] ts = g.floats("unet_timesteps");
        long[] batch = g.longs("unet_batch");
        assertEquals(ts.length, seen.calls.size(), name + ": UNet calls " + seen.calls);
        for (int i = 0; i < ts.length; i++) {
            assertEquals(ts[i], seen.calls.get(i).timestep(), 1e-3, name + " call " + i);
            assertEquals(batch[i], seen.calls.get(i).rows().size(), name + " call " + i + " batch");
            assertEquals(List.of(CfgHalf.COND), seen.calls.get(i).rows(), name + " call " + i + " rows");
        }

        PipelineConformanceTest.assertOutputsMatch(name, g, GOLDEN.resolve(name + ".png"), res, backend);
    }

    GenerateRequest img2img() {
        byte[] init = Png.read(GOLDEN.resolve("turbo_img2img_init.png")).rgb();
        return request(2).initImage(Images.fromUint8(new byte[][] {init}, 128, 192)).strength(0.5f).build();
    }

    @Test
    void theModelsOwnSchedulerIsEulerWithTrailingSpacingAndEpsilon() {
        GenerateRequest r = request(1).build();
        assertEquals(SchedulerKind.EULER, r.scheduler());
        assertEquals(TimestepSpacing.TRAILING, r.timestepSpacing());
        assertEquals(Prediction.EPSILON, r.prediction());
        assertFalse(r.guided());
    }

    @Test
    void oneStep() { check("turbo_euler_1step", request(1).build(), CPU); }

    @Test
    void fourSteps() { check("turbo_euler_4step", request(4).build(), CPU); }

    /** Euler ancestral draws fresh noise each step from the seed's generator, as diffusers does from its own. */
    @Test
    void fourStepsEulerAncestral() {
        check("turbo_euler_a_4step", request(4).scheduler(SchedulerKind.EULER_ANCESTRAL).build(), CPU);
    }

    @Test
    void img2imgAtTheModelCardsSettings() { check("turbo_img2img_2step", img2img(), CPU); }

    @Test
    void oneStepOnTheReferenceBackend() { check("turbo_euler_1step", request(1).build(), ReferenceBackend.INSTANCE); }

    @Test
    void img2imgOnTheReferenceBackend() { check("turbo_img2img_2step", img2img(), ReferenceBackend.INSTANCE); }

    /**
     * The goldens store the noise diffusers drew, in draw order (start noise or the VAE's sample and the img2img noise,
     * then one draw per scheduler step); the engine draws the same numbers from the seed, bit for bit.
     */
    @Test
    void theStoredNoiseIsWhatTheSeedsGeneratorDraws() {
        for (String name : List.of("turbo_euler_1step", "turbo_euler_4step", "turbo_euler_a_4step", "turbo_img2img_2step")) {
            SafeTensors g = SafeTensors.open(GOLDEN.resolve(name + ".safetensors"));
            TorchGenerator gen = new TorchGenerator(42);
            int k = 0;
            for (; g.contains("noise" + k); k++) {
                float[] expected = g.floats("noise" + k), drawn = gen.randn(expected.length);
                for (int i = 0; i < expected.length; i++)
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(drawn[i]), name + " noise" + k + "[" + i + "]");
            }
            assertTrue(k >= 2, name + ": " + k + " noise tensors");
        }
    }

    /** Guidance ≤ 1 runs no unconditional pass: one batch-1 UNet call per step; above 1, one call of both halves. */
    @Test
    void guidanceAtMostOneRunsOneConditionalUnetCallPerStep() {
        for (float guidance : new float[] {0f, 1f}) {
            UnetCalls seen = new UnetCalls();
            pipe.generate(request(3).guidance(guidance).build(), CPU, seen, StableDiffusionPipeline.Progress.NONE);
            assertEquals(3, seen.calls.size(), "guidance " + guidance);
            for (int i = 0; i < 3; i++) {
                assertEquals(i, seen.calls.get(i).step());
                assertEquals(List.of(CfgHalf.COND), seen.calls.get(i).rows(), "guidance " + guidance + " step " + i);
            }
        }
        UnetCalls guided = new UnetCalls();
        pipe.generate(request(2).guidance(1.5f).build(), CPU, guided, StableDiffusionPipeline.Progress.NONE);
        assertEquals(2, guided.calls.size());
        for (UnetCall c : guided.calls) assertEquals(List.of(CfgHalf.UNCOND, CfgHalf.COND), c.rows());
    }
}
