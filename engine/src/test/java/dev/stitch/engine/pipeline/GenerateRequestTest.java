package dev.stitch.engine.pipeline;

import dev.stitch.kernels.ParameterError;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerConfig;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The request builder: defaults from the model, parameters checked with errors that name them. */
class GenerateRequestTest {
    static Path dir;
    static StableDiffusionPipeline tiny;      // DDIM, epsilon, "leading" set in its config, 8 latents × VAE factor 8

    @BeforeAll
    static void model() throws IOException {
        dir = Files.createTempDirectory("stitch-request-");
        RandomModel.write("tiny", dir.resolve("tiny"), 3, DType.F32, null);
        tiny = StableDiffusionPipeline.load(dir.resolve("tiny"));
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (dir != null) RandomModel.deleteTree(dir);
    }

    /** The tiny model's components with another scheduler config. */
    static StableDiffusionPipeline withScheduler(String json) {
        return new StableDiffusionPipeline(tiny.source, tiny.tokenizer, tiny.textEncoder, tiny.unet, tiny.vae, SchedulerConfig.parse(json));
    }

    @Test
    void unsetSettingsComeFromAnEpsilonModel() {
        GenerateRequest r = tiny.request("a cat").build();
        assertEquals(SchedulerKind.DDIM, r.scheduler());
        assertEquals(TimestepSpacing.LEADING, r.timestepSpacing());
        assertEquals(Prediction.EPSILON, r.prediction());
        assertEquals(8 * 8, tiny.defaultSize());
        assertEquals(64, r.width());
        assertEquals(64, r.height());
        assertEquals(50, r.steps());
        assertEquals(7.5f, r.guidance());
        assertEquals(0, r.seed());
        assertEquals(List.of("a cat"), r.prompts());
        assertEquals("", r.negative(0));
    }

    @Test
    void unsetSettingsComeFromAVModel() {
        // an SD2-768-like config: v prediction, Euler, no spacing key (Euler's own default, linspace, applies)
        StableDiffusionPipeline v = withScheduler("{\"_class_name\": \"EulerDiscreteScheduler\", \"prediction_type\": \"v_prediction\"}");
        GenerateRequest r = v.request("a cat").build();
        assertEquals(SchedulerKind.EULER, r.scheduler());
        assertEquals(TimestepSpacing.LINSPACE, r.timestepSpacing());
        assertEquals(Prediction.V_PREDICTION, r.prediction());
        // another scheduler takes its own default spacing when the config sets none
        assertEquals(TimestepSpacing.LEADING, v.request("a cat").scheduler(SchedulerKind.DDIM).build().timestepSpacing());
        // and toBuilder keeps what was set, not what was filled in: a changed scheduler gets its default again
        GenerateRequest ddim = r.toBuilder().scheduler(SchedulerKind.DDIM).build();
        assertEquals(TimestepSpacing.LEADING, ddim.timestepSpacing());
        assertEquals(Prediction.V_PREDICTION, ddim.prediction());
    }

    @Test
    void setSettingsWinOverTheModel() {
        GenerateRequest r = tiny.request("a cat", "a dog").negativePrompt("blurry").steps(7).guidance(3f).seed(42)
            .scheduler(SchedulerKind.EULER_ANCESTRAL).timestepSpacing(TimestepSpacing.TRAILING).prediction(Prediction.V_PREDICTION)
            .size(96, 32).build();
        assertEquals(SchedulerKind.EULER_ANCESTRAL, r.scheduler());
        assertEquals(TimestepSpacing.TRAILING, r.timestepSpacing());
        assertEquals(Prediction.V_PREDICTION, r.prediction());
        assertEquals(96, r.width());
        assertEquals(32, r.height());
        assertEquals(2, r.batch());
        assertEquals("blurry", r.negative(1));
        assertEquals(42, r.seed());
        assertEquals(7, r.toBuilder().build().steps());
    }

    private static void assertParameterError(String parameter, String message, Runnable r) {
        ParameterError e = assertThrows(ParameterError.class, r::run);
        assertEquals(parameter, e.parameter());
        assertEquals(message, e.getMessage());
        // a command line tells it as its flag: the value unquoted
        String flagged = message.replaceFirst("^" + parameter + "( '([^']*)')?:", "--" + parameter + (e.value() == null ? ":" : " $2:"));
        assertEquals(flagged, e.as("--" + parameter).getMessage());
    }

    @Test
    void badSettingsNameTheParameter() {
        assertParameterError("prompt", "prompt: at least one prompt is needed", () -> tiny.request(List.of()));
        assertParameterError("negativePrompt", "negativePrompt: give one for all prompts or one per prompt (2), not 3",
            () -> tiny.request("a", "b").negativePrompts(List.of("x", "y", "z")).build());
        assertParameterError("steps", "steps '0': must be at least 1", () -> tiny.request("a").steps(0).build());
        assertParameterError("steps", "steps '1001': is more than the model's 1000 training timesteps", () -> tiny.request("a").steps(1001).build());
        assertParameterError("guidance", "guidance 'NaN': must be a number >= 0", () -> tiny.request("a").guidance(Float.NaN).build());
        assertParameterError("width", "width '100': must be a positive multiple of 8", () -> tiny.request("a").width(100).build());
        assertParameterError("height", "height '-8': must be a positive multiple of 8", () -> tiny.request("a").height(-8).build());
        Tensor image = Tensor.of(new float[3 * 64 * 64], 1, 3, 64, 64);
        assertParameterError("strength", "strength '1.5': must be in (0, 1]", () -> tiny.request("a").initImage(image).strength(1.5f).build());
        assertParameterError("strength", "strength '0.1': leaves no denoising step of 5 (needs strength >= 0.2)",
            () -> tiny.request("a").steps(5).initImage(image).strength(0.1f).build());
        assertParameterError("initImage", "initImage: shape [1, 3, 64, 64], expected 1 image(s) of 3 x 32 x 32",
            () -> tiny.request("a").size(32, 32).initImage(image).build());
        Tensor latents = Tensor.of(new float[4 * 4 * 4], 1, 4, 4, 4);
        assertParameterError("initLatents", "initLatents: shape [1, 4, 4, 4], expected [1, 4, 8, 8]", () -> tiny.request("a").initLatents(latents).build());
        // the model's own config is named by its file, not by a parameter
        UserError e = assertThrows(UserError.class, () -> withScheduler("{\"_class_name\": \"LMSDiscreteScheduler\"}").request("a").build());
        assertFalse(e instanceof ParameterError);
        assertTrue(e.getMessage().contains("LMSDiscreteScheduler is not supported"), e.getMessage());
    }
}
