package dev.stitch.engine.schedulers;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** from_config semantics, overrides, and refusals of settings the engine does not implement. */
class SchedulerConfigTest {
    private static void assertUserError(String expectedPart, Runnable r) {
        UserError e = assertThrows(UserError.class, r::run);
        assertTrue(e.getMessage().contains(expectedPart), "message '" + e.getMessage() + "' should mention " + expectedPart);
    }

    @Test
    void presentKeysCarryOverAndAbsentOnesTakeEachSchedulersDefault() {
        // No timestep_spacing: DDIM's default is "leading" (steps_offset default 0), Euler's and DPM's "linspace".
        SchedulerConfig cfg = SchedulerConfig.parse("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012}");
        assertArrayEquals(new float[] {800, 600, 400, 200, 0}, Schedulers.create("ddim", cfg, 5, null).timesteps());
        assertArrayEquals(new float[] {999f, 749.25f, 499.5f, 249.75f, 0f}, Schedulers.create("euler", cfg, 5, null).timesteps());
        // With the key present it applies to every scheduler.
        SchedulerConfig leading = cfg.with("timestep_spacing", "leading").with("steps_offset", 1);
        assertArrayEquals(new float[] {801, 601, 401, 201, 1}, Schedulers.create("euler", leading, 5, null).timesteps());
        // The command-line override wins over the file.
        assertArrayEquals(new float[] {999, 799, 599, 399, 199},
            Schedulers.create("ddim", leading.withTimestepSpacing("trailing"), 5, null).timesteps());
    }

    @Test
    void overridesAreValidated() {
        SchedulerConfig cfg = SchedulerConfig.empty();
        assertEquals("v_prediction", cfg.withPrediction("v").string("prediction_type", null));
        assertEquals("epsilon", cfg.withPrediction("epsilon").string("prediction_type", null));
        assertUserError("--prediction", () -> cfg.withPrediction("x0"));
        assertUserError("--timestep-spacing", () -> cfg.withTimestepSpacing("karras"));
    }

    @Test
    void unsupportedSettingsNameTheKey() {
        SchedulerConfig cfg = SchedulerConfig.empty();
        assertUserError("'thresholding'", () -> Schedulers.create("ddim", cfg.with("thresholding", true), 5, null));
        assertUserError("'beta_schedule'", () -> Schedulers.create("ddim", cfg.with("beta_schedule", "sigmoid"), 5, null));
        assertUserError("'prediction_type'", () -> Schedulers.create("euler", cfg.with("prediction_type", "sample"), 5, null));
        assertUserError("'use_karras_sigmas'", () -> Schedulers.create("dpm++2m", cfg.with("use_karras_sigmas", true), 5, null));
        assertUserError("'algorithm_type'", () -> Schedulers.create("dpm++2m", cfg.with("algorithm_type", "sde-dpmsolver++"), 5, null));
        assertUserError("'solver_order'", () -> Schedulers.create("dpm++2m", cfg.with("solver_order", 3), 5, null));
        assertUserError("'rescale_betas_zero_snr'", () -> Schedulers.create("euler", cfg.with("rescale_betas_zero_snr", true), 5, null));
        assertUserError("'interpolation_type'", () -> Schedulers.create("euler", cfg.with("interpolation_type", "log_linear"), 5, null));
        assertUserError("'steps_offset' must be an integer", () -> Schedulers.create("ddim", cfg.with("steps_offset", "one"), 5, null));
        assertUserError("--scheduler", () -> Schedulers.create("lms", cfg, 5, null));
        assertUserError("--steps", () -> Schedulers.create("ddim", cfg, 0, null));
        assertUserError("--steps", () -> Schedulers.create("ddim", cfg, 1001, null));
        // leading spacing with steps_offset 1 and 1000 steps would need timestep 1000
        assertUserError("timestep 1000", () -> Schedulers.create("ddim", cfg.with("steps_offset", 1), 1000, null));
    }

    @Test
    void badFilesAreUserErrors(@TempDir Path dir) throws IOException {
        assertUserError("no such file", () -> SchedulerConfig.read(dir.resolve("scheduler_config.json")));
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"beta_start\": 0.0001,");
        assertUserError("broken.json", () -> SchedulerConfig.read(broken));
        Path list = dir.resolve("list.json");
        Files.writeString(list, "[1, 2]");
        assertUserError("expected a JSON object", () -> SchedulerConfig.read(list));
        // Python's json writes -Infinity for DPM-Solver's lambda_min_clipped; that must parse.
        Path dpm = dir.resolve("dpm.json");
        Files.writeString(dpm, "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"lambda_min_clipped\": -Infinity, \"solver_order\": 2}");
        SchedulerConfig cfg = SchedulerConfig.read(dpm);
        assertEquals("DPMSolverMultistepScheduler", cfg.className());
        assertEquals(5, Schedulers.create("dpm++2m", cfg, 5, null).timesteps().length);
    }

    @Test
    void otherBetaSchedules() {
        // "linear" (diffusers' default, 0.0001 .. 0.02): torch float32 values printed by PyTorch 1.13.1 from
        // DDIMScheduler().alphas_cumprod[[0, 500, 999]]
        float[] ac = NoiseSchedule.from(SchedulerConfig.empty()).alphasCumprod;
        assertEquals(0x1.fff2e4p-1f, ac[0]);
        assertEquals(0x1.3ea7b6p-4f, ac[500]);
        assertEquals(0x1.528ccep-15f, ac[999]);
        // "squaredcos_cap_v2": alphas_cumprod follows cos^2((t/T + 0.008) / 1.008 * pi/2) / cos^2(0.008 / 1.008 * pi/2)
        float[] cos = NoiseSchedule.from(SchedulerConfig.empty().with("beta_schedule", "squaredcos_cap_v2")).alphasCumprod;
        double f0 = Math.pow(Math.cos(0.008 / 1.008 * Math.PI / 2), 2);
        for (int t : new int[] {0, 250, 500, 900})
            assertEquals(Math.pow(Math.cos(((t + 1) / 1000.0 + 0.008) / 1.008 * Math.PI / 2), 2) / f0, cos[t], 1e-5, "t=" + t);
    }
}
