package dev.stitch.engine.schedulers;

import dev.stitch.engine.io.SafeTensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every scheduler step of the three diffusers pipelines in the conformance goldens, without any UNet: the saved
 * guided model output and the previous latents go in, the next saved latents must come out.
 */
class SchedulerGoldenTest {
    private static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));

    /** The conformance file at {@code relative}; skips the calling test (it does not error) when it is absent. */
    private static Path conformance(String relative) {
        Path file = CONFORMANCE.resolve(relative);
        Assumptions.assumeTrue(Files.isRegularFile(file), "conformance data not found at " + file + "; skipping");
        return file;
    }

    private static SafeTensors golden(String name) {
        return SafeTensors.open(conformance("golden/" + name + ".safetensors"));
    }

    private static SchedulerConfig tinyConfig() {
        return SchedulerConfig.read(conformance("tiny-sd2/scheduler/scheduler_config.json"));
    }

    /** Max over elements of |actual - expected| / max(1, |expected|); fails on a non-finite value. */
    private static double relError(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), "non-finite value at " + i);
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
        }
        return worst;
    }

    private static float[] twice(float[] x) {
        float[] b = new float[2 * x.length];
        System.arraycopy(x, 0, b, 0, x.length);
        System.arraycopy(x, 0, b, x.length, x.length);
        return b;
    }

    /** Replays the pipeline's loop on the saved tensors, one step at a time from the saved previous latents. */
    private static void replay(String name, Scheduler s) {
        SafeTensors g = golden(name);
        assertArrayEquals(g.floats("timesteps"), s.timesteps(), name + ": timesteps");
        assertEquals(g.floats("init_noise_sigma")[0], s.initNoiseSigma(), name + ": init_noise_sigma");
        float[] latents = g.floats("init_noise");
        for (int i = 0; i < latents.length; i++) latents[i] *= s.initNoiseSigma();
        int steps = s.timesteps().length;
        double worstInput = 0, worstStep = 0;
        for (int k = 0; k < steps; k++) {
            worstInput = Math.max(worstInput, relError(g.floats("step" + k + ".unet_input"), s.scaleModelInput(twice(latents), k)));
            float[] next = g.floats("step" + k + ".latents");
            worstStep = Math.max(worstStep, relError(next, s.step(g.floats("step" + k + ".guided"), k, latents)));
            latents = next;
        }
        assertTrue(worstInput <= 1e-5, name + ": unet_input off by " + worstInput);
        assertTrue(worstStep <= 1e-5, name + ": step off by " + worstStep);
        System.out.printf("%s: %d steps, worst unet_input %.1e, worst step %.1e (relative to max(1,|ref|))%n", name, steps, worstInput, worstStep);
    }

    @Test
    void alphasCumprodIsTorchsFloat32Cumprod() {
        float[] expected = golden("pipeline_ddim_eps").floats("alphas_cumprod");
        assertArrayEquals(expected, NoiseSchedule.from(tinyConfig()).alphasCumprod, "alphas_cumprod, bit for bit");
    }

    @Test
    void ddimEpsilon() {
        Scheduler s = Schedulers.create(SchedulerKind.DDIM, tinyConfig(), 8, null);
        assertArrayEquals(new float[] {876, 751, 626, 501, 376, 251, 126, 1}, s.timesteps());
        replay("pipeline_ddim_eps", s);
    }

    @Test
    void ddimVPrediction() {
        replay("pipeline_ddim_v", Schedulers.create(SchedulerKind.DDIM, tinyConfig().withPrediction(Prediction.V_PREDICTION), 5, null));
    }

    @Test
    void eulerVPredictionLinspace() {
        EulerDiscrete s = (EulerDiscrete) Schedulers.create(SchedulerKind.EULER, tinyConfig().withTimestepSpacing(TimestepSpacing.LINSPACE).withPrediction(Prediction.V_PREDICTION), 6, null);
        assertArrayEquals(golden("pipeline_euler_v").floats("sigmas"), s.sigmas(), "sigmas, bit for bit");
        replay("pipeline_euler_v", s);
    }
}
