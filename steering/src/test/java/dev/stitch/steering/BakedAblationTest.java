package dev.stitch.steering;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Directional ablation baked into the weights equals the ablate operator at run time, on the tiny model. */
class BakedAblationTest {
    @TempDir static Path dir;
    static Path model;
    static StableDiffusionPipeline pipe;
    static TapCatalog catalog;
    static final Backend OPS = Backends.byName("cpu");

    /** One tap of each kind that can be baked: embeddings, an MLP, a sampler (by its block's name), an attention, a projection, a conv. */
    static final List<String> TAPS = List.of("text_encoder.text_model.embeddings", "text_encoder.text_model.encoder.layers.0.mlp",
        "unet.down_blocks.0", "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2", "unet.mid_block.attentions.0.proj_in",
        "unet.time_embedding", "unet.conv_in");

    @BeforeAll
    static void tinyModel() throws IOException {
        model = dir.resolve("tiny");
        RandomModel.write("tiny", model, 3, DType.F32, null);
        pipe = StableDiffusionPipeline.load(model);
        catalog = pipe.tapCatalog(64, 64);
    }

    static SteeringFile file(List<String> taps, long seed) {
        Random r = new Random(seed);
        Map<String, SteeringFile.TapVector> m = new LinkedHashMap<>();
        for (String t : taps) m.put(t, new SteeringFile.TapVector(t, new float[][] {SteeringFileTest.random(r, catalog.entry(t).channels())}, null));
        return new SteeringFile(new LinkedHashMap<>(Map.of(SteeringFile.METHOD, "mean-diff", SteeringFile.OPERATOR, "ablate")), m);
    }

    static GenerateResult generate(StableDiffusionPipeline p, SteeringPlan plan) {
        GenerateRequest req = p.request("a lighthouse on a cliff").steps(3).seed(5).guidance(7.5f).size(64, 64).build();
        HookedTaps taps = new HookedTaps(OPS);
        try (SteeringPlan.Registered reg = plan == null ? () -> {} : plan.register(taps)) {
            return p.generate(req, OPS, taps, StableDiffusionPipeline.Progress.NONE);
        }
    }

    static Map<String, String> hashes(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.filter(Files::isRegularFile).toList())
                try (InputStream in = new DigestInputStream(Files.newInputStream(f), MessageDigest.getInstance("SHA-256"))) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                    out.put(root.relativize(f).toString(), HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest()));
                }
        }
        return out;
    }

    @Test
    void theBakedModelEqualsRunTimeAblationAndLeavesTheOriginalAlone() throws Exception {
        Map<String, String> before = hashes(model);
        for (float strength : new float[] {1f, 0.6f}) {
            SteeringFile f = file(TAPS, 11);
            Path out = dir.resolve("baked-" + strength);
            BakedAblation.Result r = BakedAblation.bake(model, catalog, f, TAPS, strength, out);
            assertEquals(TAPS, r.taps());
            assertEquals(List.of("text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
                "text_model.encoder.layers.0.mlp.fc2.weight", "text_model.encoder.layers.0.mlp.fc2.bias"), r.tensors().get("text_encoder"));
            assertTrue(r.tensors().get("unet").containsAll(List.of("down_blocks.0.downsamplers.0.conv.weight",
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.bias", "time_embedding.linear_2.weight", "conv_in.bias")));

            GenerateResult runTime = generate(pipe, SteeringPlan.defaults(f, strength).withOperator(Operator.ABLATE));
            GenerateResult baked = generate(StableDiffusionPipeline.load(out), null);
            GenerateResult plain = generate(pipe, null);
            float[] a = runTime.latents().data(), b = baked.latents().data(), p = plain.latents().data();
            double maxDiff = 0, maxRef = 0, maxSteer = 0;
            for (int i = 0; i < a.length; i++) {
                assertTrue(Float.isFinite(a[i]) && Float.isFinite(b[i]));
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                maxRef = Math.max(maxRef, Math.abs(a[i]));
                maxSteer = Math.max(maxSteer, Math.abs(a[i] - p[i]));
            }

            assertTrue(maxDiff <= 2e-5 * maxRef, "strength " + strength + ": baked vs run-time max |Δ| " + maxDiff + " of max " + maxRef);
            assertTrue(maxSteer > 1e3 * maxDiff, "the ablation changes the latents (" + maxSteer + ") far beyond the difference (" + maxDiff + ")");
            assertTrue(SafeTensors.open(out.resolve("unet/diffusion_pytorch_model.safetensors")).metadata().get("stitch_ablation").contains("strength " + strength));
            assertEquals(hashes(model).get("vae/diffusion_pytorch_model.safetensors"), hashes(out).get("vae/diffusion_pytorch_model.safetensors"));
        }
        assertEquals(before, hashes(model), "the original model folder is unchanged");
    }

    @Test
    void tapsWithAResidualOrANormAreRefusedListingTheTapsThatCanBe() {
        List<String> taps = List.of("unet.conv_in", "unet.mid_block");
        SteeringFile f = file(taps, 2);
        UserError e = assertThrows(UserError.class, () -> BakedAblation.bake(model, catalog, f, taps, 1f, dir.resolve("refused")));
        assertEquals("tap 'unet.mid_block' cannot be baked exactly: its value is not the output of a Linear, convolution or embedding"
            + " (a residual or a norm comes after it); this steering file's taps that can: unet.conv_in", e.getMessage());
        assertFalse(Files.exists(dir.resolve("refused")));
        List<String> all = BakedAblation.bakeable(model, catalog);
        for (String t : List.of("unet.mid_block.resnets.0", "unet.down_blocks.0.attentions.0", "unet.down_blocks.0.attentions.0.transformer_blocks.0",
            "unet.conv_norm_out", "text_encoder.text_model.final_layer_norm", "text_encoder.text_model.encoder.layers.0", "unet.up_blocks.3"))
            assertFalse(all.contains(t), t);
        assertTrue(all.containsAll(TAPS), all.toString());

        UserError twice = assertThrows(UserError.class, () -> BakedAblation.bake(model, catalog, file(List.of("unet.down_blocks.0", "unet.down_blocks.0.downsamplers.0"), 3),
            List.of("unet.down_blocks.0", "unet.down_blocks.0.downsamplers.0"), 1f, dir.resolve("refused")));
        assertTrue(twice.getMessage().contains("two names of one tensor"), twice.getMessage());
        Path exists = dir.resolve("tiny");
        assertTrue(assertThrows(UserError.class, () -> BakedAblation.bake(model, catalog, f, List.of("unet.conv_in"), 1f, dir.resolve("tiny/inside")))
            .getMessage().contains("--out"));
        assertNotNull(exists);
    }
}
