package dev.stitch.engine.pipeline;

import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Editor;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.vae.AutoencoderKL;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run whose values turn NaN or infinite stops with one line naming where (component, denoising step, tap) instead
 * of writing a black image; absurd sizes are refused before anything is allocated.
 */
class NonFiniteTest {
    static final Backend OPS = ReferenceBackend.INSTANCE;
    static Path dir;
    static StableDiffusionPipeline pipe;

    @BeforeAll
    static void model() throws IOException {
        dir = Files.createTempDirectory("stitch-tiny-");
        RandomModel.write("tiny", dir.resolve("tiny"), 7, DType.F32, null);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"));
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (dir != null) RandomModel.deleteTree(dir);
    }

    static GenerateRequest request(int steps) {
        return pipe.request("a red cube").steps(steps).seed(3).size(32, 32).build();
    }

    /** The weights of {@code file} with one value of {@code tensor} set to {@code value}. */
    static Weights poisoned(String component, Path file, String tensor, float value) {
        SafeTensors st = SafeTensors.open(file);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : st.names()) {
            Tensor t = st.tensor(n);
            float[] v = t.data().clone();
            if (n.equals(tensor)) v[v.length / 2] = value;
            m.put(n, Tensor.of(v, t.shape()));
        }
        assertTrue(m.containsKey(tensor), tensor);
        return Weights.of(component, "poisoned", m);
    }

    static String failure(StableDiffusionPipeline p, Taps taps) {
        UserError e = assertThrows(UserError.class, () -> p.generate(request(3), OPS, taps, StableDiffusionPipeline.Progress.NONE));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aNanUNetWeightNamesTheStepAndTheTap() {
        Path unet = pipe.source.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS);
        var bad = new StableDiffusionPipeline(pipe.source, pipe.tokenizer, pipe.textEncoder,
            new UNet2DConditionModel(pipe.unet.config, poisoned("unet", unet, "down_blocks.1.resnets.0.conv1.weight", Float.NaN)),
            pipe.vae, pipe.schedulerConfig);
        String m = failure(bad, Taps.NONE);
        assertTrue(m.startsWith("non-finite values (NaN or infinity) in the latents after denoising step 0 (0-based) of 3, first at tap "
            + "unet.down_blocks.1.resnets.0"), m);
        assertTrue(m.endsWith("(the module's own output)"), m);
    }

    @Test
    void aSteeringEditThatMakesNanIsNamed() {
        HookedTaps taps = new HookedTaps(OPS);
        Editor nan = (tap, x, ctx) -> ctx.step() == 1 ? ctx.ops().scale(x, Float.POSITIVE_INFINITY) : x;
        try (var r = taps.register("unet.mid_block", nan)) {
            String m = failure(pipe, taps);
            assertTrue(m.contains("after denoising step 1 (0-based) of 3, first at tap unet.mid_block (a hook registered there"), m);
        }
    }

    @Test
    void nanInTheTextEncoderOrTheVaeIsNamed() {
        Path te = pipe.source.resolve("text_encoder/model.safetensors");
        var badText = new StableDiffusionPipeline(pipe.source, pipe.tokenizer,
            new ClipTextModel(pipe.textEncoder.config, poisoned(ClipTextModel.COMPONENT, te, "text_model.final_layer_norm.weight", Float.NaN)),
            pipe.unet, pipe.vae, pipe.schedulerConfig);
        assertTrue(failure(badText, Taps.NONE).startsWith("non-finite values (NaN or infinity) in the text encoder's output"));

        Path vae = pipe.source.resolve("vae/diffusion_pytorch_model.safetensors");
        var badVae = new StableDiffusionPipeline(pipe.source, pipe.tokenizer, pipe.textEncoder, pipe.unet,
            new AutoencoderKL(((AutoencoderKL) pipe.vae).config, poisoned(AutoencoderKL.COMPONENT, vae, "decoder.conv_out.weight", Float.POSITIVE_INFINITY)),
            pipe.schedulerConfig);
        assertTrue(failure(badVae, Taps.NONE).startsWith("non-finite values (NaN or infinity) in the VAE decoder's output"));
    }

    @Test
    void absurdSizesAreRefusedBeforeAnythingIsAllocated() {
        UserError e = assertThrows(UserError.class, () -> pipe.request("x").steps(2).seed(3).size(2147483640, 64).build());
        assertTrue(e.getMessage().startsWith("width '2147483640x64': too large"), e.getMessage());
        assertThrows(UserError.class, () -> pipe.request("x").steps(2).seed(3).size(65536, 65536).build());
        pipe.check(request(2));
    }
}
