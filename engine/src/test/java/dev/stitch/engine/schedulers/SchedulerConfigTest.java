package dev.stitch.engine.schedulers;

import dev.stitch.kernels.ParameterError;
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
        assertArrayEquals(new float[] {800, 600, 400, 200, 0}, Schedulers.create(SchedulerKind.DDIM, cfg, 5, null).timesteps());
        assertArrayEquals(new float[] {999f, 749.25f, 499.5f, 249.75f, 0f}, Schedulers.create(SchedulerKind.EULER, cfg, 5, null).timesteps());
        // With the key present it applies to every scheduler.
        SchedulerConfig leading = cfg.with("timestep_spacing", "leading").with("steps_offset", 1);
        assertArrayEquals(new float[] {801, 601, 401, 201, 1}, Schedulers.create(SchedulerKind.EULER, leading, 5, null).timesteps());
        // The request's spacing wins over the file.
        assertArrayEquals(new float[] {999, 799, 599, 399, 199},
            Schedulers.create(SchedulerKind.DDIM, leading.withTimestepSpacing(TimestepSpacing.TRAILING), 5, null).timesteps());
    }

    @Test
    void overridesWriteDiffusersValues() {
        SchedulerConfig cfg = SchedulerConfig.empty();
        assertEquals("v_prediction", cfg.withPrediction(Prediction.V_PREDICTION).string("prediction_type", null));
        assertEquals("epsilon", cfg.withPrediction(Prediction.EPSILON).string("prediction_type", null));
        assertEquals("trailing", cfg.withTimestepSpacing(TimestepSpacing.TRAILING).string("timestep_spacing", null));
        assertEquals(Prediction.V_PREDICTION, cfg.withPrediction(Prediction.V_PREDICTION).prediction());
        assertEquals(TimestepSpacing.LINSPACE, cfg.withTimestepSpacing(TimestepSpacing.LINSPACE).timestepSpacing(TimestepSpacing.LEADING));
    }

    @Test
    void configValuesAreReadIntoTheEnumsOrRefusedNamingTheKey() {
        SchedulerConfig cfg = SchedulerConfig.empty();
        assertEquals(Prediction.EPSILON, cfg.prediction(), "diffusers' default");
        assertEquals(TimestepSpacing.TRAILING, cfg.timestepSpacing(TimestepSpacing.TRAILING), "the scheduler's default");
        assertEquals(SchedulerKind.DDIM, SchedulerKind.of(cfg), "no _class_name");
        assertEquals(SchedulerKind.EULER_ANCESTRAL, SchedulerKind.of(cfg.with("_class_name", "EulerAncestralDiscreteScheduler")));
        assertUserError("'prediction_type' = \"sample\" is not supported", () -> cfg.with("prediction_type", "sample").prediction());
        assertUserError("'timestep_spacing' = \"karras\" is not supported", () -> cfg.with("timestep_spacing", "karras").timestepSpacing(TimestepSpacing.LEADING));
        assertUserError("scheduler LMSDiscreteScheduler is not supported; ask for one of ddim, pndm, euler, euler-a, dpm++2m",
            () -> SchedulerKind.of(cfg.with("_class_name", "LMSDiscreteScheduler")));
    }

    /** A user's value parses to the enum, or fails naming the parameter, the value and every allowed value. */
    @Test
    void usersSpellingsParseOnceWithErrorsNamingTheParameter() {
        assertEquals(Prediction.EPSILON, Prediction.parse("epsilon"));
        assertEquals(Prediction.EPSILON, Prediction.parse("eps"));
        assertEquals(Prediction.V_PREDICTION, Prediction.parse("v"));
        assertEquals(Prediction.V_PREDICTION, Prediction.parse("V_Prediction"));
        assertParameterError("prediction", "prediction 'x0': expected epsilon or v", () -> Prediction.parse("x0"));

        for (TimestepSpacing t : TimestepSpacing.values()) assertEquals(t, TimestepSpacing.parse(t.label));
        assertEquals(TimestepSpacing.TRAILING, TimestepSpacing.parse(" Trailing"));
        assertParameterError("timestepSpacing", "timestepSpacing 'karras': expected leading, linspace or trailing",
            () -> TimestepSpacing.parse("karras"));

        for (SchedulerKind k : SchedulerKind.values()) assertEquals(k, SchedulerKind.parse(k.label));
        assertEquals(SchedulerKind.DPM_SOLVER_MULTISTEP, SchedulerKind.parse("DPM++2M"));
        assertParameterError("scheduler", "scheduler 'lms': expected one of ddim, pndm, euler, euler-a, dpm++2m",
            () -> SchedulerKind.parse("lms"));
        assertEquals("euler-a", SchedulerKind.EULER_ANCESTRAL.toString(), "printed as users write it");
    }

    private static void assertParameterError(String parameter, String message, Runnable r) {
        ParameterError e = assertThrows(ParameterError.class, r::run);
        assertEquals(parameter, e.parameter());
        assertEquals(message, e.getMessage());
    }

    @Test
    void unsupportedSettingsNameTheKey() {
        SchedulerConfig cfg = SchedulerConfig.empty();
        assertUserError("'thresholding'", () -> Schedulers.create(SchedulerKind.DDIM, cfg.with("thresholding", true), 5, null));
        assertUserError("'beta_schedule'", () -> Schedulers.create(SchedulerKind.DDIM, cfg.with("beta_schedule", "sigmoid"), 5, null));
        assertUserError("'prediction_type'", () -> Schedulers.create(SchedulerKind.EULER, cfg.with("prediction_type", "sample"), 5, null));
        assertUserError("'use_karras_sigmas'", () -> Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, cfg.with("use_karras_sigmas", true), 5, null));
        assertUserError("'algorithm_type'", () -> Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, cfg.with("algorithm_type", "sde-dpmsolver++"), 5, null));
        assertUserError("'solver_order'", () -> Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, cfg.with("solver_order", 3), 5, null));
        assertUserError("'rescale_betas_zero_snr'", () -> Schedulers.create(SchedulerKind.EULER, cfg.with("rescale_betas_zero_snr", true), 5, null));
        assertUserError("'interpolation_type'", () -> Schedulers.create(SchedulerKind.EULER, cfg.with("interpolation_type", "log_linear"), 5, null));
        assertUserError("'steps_offset' must be an integer", () -> Schedulers.create(SchedulerKind.DDIM, cfg.with("steps_offset", "one"), 5, null));
        assertParameterError("steps", "steps '0': must be at least 1", () -> Schedulers.create(SchedulerKind.DDIM, cfg, 0, null));
        assertParameterError("steps", "steps '1001': is more than the model's 1000 training timesteps",
            () -> Schedulers.create(SchedulerKind.DDIM, cfg, 1001, null));
        // leading spacing with steps_offset 1 and 1000 steps would need timestep 1000
        assertUserError("timestep 1000", () -> Schedulers.create(SchedulerKind.DDIM, cfg.with("steps_offset", 1), 1000, null));
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
        assertEquals(5, Schedulers.create(SchedulerKind.DPM_SOLVER_MULTISTEP, cfg, 5, null).timesteps().length);
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
