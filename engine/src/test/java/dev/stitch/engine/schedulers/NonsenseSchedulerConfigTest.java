package dev.stitch.engine.schedulers;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Scheduler configs that would give NaN or infinite latents are refused by key, for every scheduler. */
class NonsenseSchedulerConfigTest {
    private static void refused(String json, String key) {
        for (SchedulerKind name : SchedulerKind.values()) {
            SchedulerConfig cfg = SchedulerConfig.parse(json);
            UserError e = assertThrows(UserError.class, () -> Schedulers.create(name, cfg, 10, new dev.stitch.engine.random.TorchGenerator(1)),
                name + " accepted " + json);
            assertTrue(e.getMessage().startsWith("scheduler config: '" + key + "'"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void betasOutsideZeroToOneAreRefused() {
        refused("{\"beta_start\": -1}", "beta_start");
        refused("{\"beta_end\": 1.5}", "beta_end");
        refused("{\"beta_start\": NaN}", "beta_start");
        refused("{\"beta_end\": Infinity}", "beta_end");
        refused("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": -0.5}", "beta_start");
        refused("{\"trained_betas\": [0.1, -3, 0.2]}", "trained_betas");
        refused("{\"trained_betas\": [0.1]}", "trained_betas");
        refused("{\"num_train_timesteps\": 2000000000}", "num_train_timesteps");
    }

    @Test
    void aScheduleWhoseAlphasReachZeroIsRefused() {
        // 0.9999 in float32 rounds so that a long schedule's product underflows to 0: sigma = sqrt((1 - 0) / 0) = inf
        refused("{\"beta_start\": 0.9999, \"beta_end\": 0.9999, \"beta_schedule\": \"linear\", \"num_train_timesteps\": 1000}", "beta_end");
    }

    @Test
    void ddimClipRangeMustBePositive() {
        UserError e = assertThrows(UserError.class, () -> Schedulers.create(SchedulerKind.DDIM, SchedulerConfig.parse("{\"clip_sample_range\": -1}"), 10, null));
        assertTrue(e.getMessage().contains("'clip_sample_range'"), e.getMessage());
    }

    @Test
    void ordinaryConfigsStillWork() {
        assertEquals(10, Schedulers.create(SchedulerKind.DDIM, SchedulerConfig.parse("{\"beta_start\": 0.00085, \"beta_end\": 0.012, "
            + "\"beta_schedule\": \"scaled_linear\"}"), 10, null).timesteps().length);
    }
}
