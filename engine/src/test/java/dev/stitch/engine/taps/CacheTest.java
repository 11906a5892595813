package dev.stitch.engine.taps;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class CacheTest {
    static final ReferenceBackend OPS = ReferenceBackend.INSTANCE;
    static final String MID = "unet.mid_block", TEXT = "text_encoder.text_model.final_layer_norm";
    final SyntheticModel model = new SyntheticModel(4);
    final HookedTaps taps = new HookedTaps(OPS);
    final Tensor latents = SyntheticModel.random(new Random(5), 2, SyntheticModel.LATENT, SyntheticModel.H, SyntheticModel.W);
    final int[][] negatives = SyntheticModel.tokens(0, 0), prompts = SyntheticModel.tokens(2, 4);

    void generate(int steps) { model.generate(new Ctx(OPS, taps), latents, negatives, prompts, steps); }

    @Test
    void fullCaptureKeysEveryTapStepAndHalf() {
        Cache cache = taps.runWithCache(MID + "," + TEXT, Reduction.NONE, () -> generate(3));
        assertEquals(2 + 3 * 2, cache.size());
        assertArrayEquals(new int[] {2, 8, 2, 3}, cache.get(MID, 2, CfgHalf.UNCOND).shape());
        assertArrayEquals(new int[] {2, 7, 8}, cache.get(TEXT, -1, CfgHalf.COND).shape());
        assertEquals(List.of("text_encoder.text_model.final_layer_norm/uncond", "text_encoder.text_model.final_layer_norm/cond",
            "unet.mid_block/step0/uncond", "unet.mid_block/step0/cond"),
            cache.keys().stream().limit(4).map(CaptureKey::tensorName).toList());
        assertTrue(taps.isEmpty());
    }

    /** Spatial means of the cond half averaged over steps 1–2 equal the same numbers computed from full captures. */
    @Test
    void meanOverAStepWindowMatchesTheFullValues() {
        Cache full = new Cache(), pooled = new Cache();
        try (var a = taps.register("unet.*", full.capture(Reduction.NONE));
             var b = taps.register("unet.*", pooled.capture(Reduction.MEAN).halves(CfgHalf.COND).steps(StepSet.range(1, 2)).meanOverSteps())) {
            generate(4);
        }
        for (String tap : new String[] {MID, "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2"}) {
            CaptureKey key = new CaptureKey(tap, -1, CfgHalf.COND);
            assertEquals(2, pooled.count(key));
            assertFalse(pooled.contains(new CaptureKey(tap, -1, CfgHalf.UNCOND)));
            Tensor got = pooled.get(key);
            Tensor s1 = full.get(tap, 1, CfgHalf.COND), s2 = full.get(tap, 2, CfgHalf.COND);
            boolean nlc = s1.rank() == 3;
            int c = nlc ? s1.dim(2) : s1.dim(1), positions = Math.toIntExact(s1.numel() / (2L * c));
            assertArrayEquals(new int[] {2, c}, got.shape());
            for (int r = 0; r < 2; r++)
                for (int ch = 0; ch < c; ch++) {
                    double sum = 0;
                    for (Tensor s : new Tensor[] {s1, s2})
                        for (int p = 0; p < positions; p++)
                            sum += s.data()[nlc ? (r * positions + p) * c + ch : (r * c + ch) * positions + p];
                    float v = got.data()[r * c + ch];
                    assertTrue(Float.isFinite(v));
                    assertEquals(sum / (2 * positions), v, 1e-6 * Math.max(1, Math.abs(v)), tap + " row " + r + " channel " + ch);
                }
        }
    }

    @Test
    void textTapsCaptureChosenTokensPerPrompt() {
        Cache full = new Cache(), last = new Cache();
        try (var a = taps.register(TEXT, full.capture(Reduction.NONE).halves(CfgHalf.COND));
             var b = taps.register(TEXT, last.capture(Reduction.LAST_TOKEN).halves(CfgHalf.COND))) {
            generate(1);
        }
        Tensor f = full.get(TEXT, -1, CfgHalf.COND), l = last.get(TEXT, -1, CfgHalf.COND);
        int c = SyntheticModel.C, len = SyntheticModel.L;
        int[] lastWord = {2, 4};   // prompts of 2 and 4 words
        for (int r = 0; r < 2; r++)
            for (int ch = 0; ch < c; ch++) assertEquals(f.data()[(r * len + lastWord[r]) * c + ch], l.data()[r * c + ch], 0f);
    }

    @Test
    void writesSafetensorsWithExactValues(@TempDir Path dir) {
        Cache cache = taps.runWithCache("unet.conv_out", Reduction.MEAN, () -> generate(2));
        Path out = dir.resolve("cache.safetensors");
        cache.write(out, Map.of("model", "synthetic"));
        SafeTensors st = SafeTensors.open(out);
        assertEquals("synthetic", st.metadata().get("model"));
        assertEquals(4, st.names().size());
        for (CaptureKey k : cache.keys()) {
            assertArrayEquals(cache.get(k).data(), st.floats(k.tensorName()));
            assertEquals(k, CaptureKey.parse(k.tensorName()));
        }
    }

    @Test
    void aSecondRunIntoTheSameCacheIsRefused() {
        Cache cache = new Cache();
        try (var h = taps.register(MID, cache.capture(Reduction.MEAN))) {
            generate(1);
            assertThrows(IllegalStateException.class, () -> generate(1));
        }
    }

    /** A capture reduces on the backend that holds the value: the only copy is of the reduced rows. */
    @Test
    void capturesReduceOnTheBackend() {
        var timed = new dev.stitch.kernels.TimedBackend(new dev.stitch.kernels.cpu.CpuBackend(1, true));
        Cache cache = new Cache();
        Tensor x = SyntheticModel.random(new Random(9), 4, 3, 5, 2);
        TapContext ctx = new TapContext("unet", TapLayout.NCHW, 0, 999, TapContext.Rows.cfg(2), timed);
        cache.capture(Reduction.MEAN).observe(MID, x, ctx);
        assertEquals(List.of("mean", "embedding"), timed.entries().stream().map(e -> e.op).sorted().toList().reversed());
        float[] d = x.data();
        double s = 0;
        for (int i = 0; i < 10; i++) s += d[3 * 30 + 10 + i];   // cond row 1 (batch row 3), channel 1
        assertEquals(s / 10, cache.get(MID, 0, CfgHalf.COND).data()[1 * 3 + 1], 1e-6);
    }
}
