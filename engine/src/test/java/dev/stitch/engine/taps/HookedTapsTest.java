package dev.stitch.engine.taps;

import dev.stitch.engine.Ctx;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class HookedTapsTest {
    static final ReferenceBackend OPS = ReferenceBackend.INSTANCE;
    static final String ATTN2 = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2";
    final SyntheticModel model = new SyntheticModel(1);
    final Tensor latents = SyntheticModel.random(new Random(2), 2, SyntheticModel.LATENT, SyntheticModel.H, SyntheticModel.W);
    final int[][] ids = SyntheticModel.tokens(3, 1);

    Tensor run(HookedTaps taps) { return model.forward(new Ctx(OPS, taps), latents, ids); }

    /** Copies of every tap value, as seen by an observer registered at "*". */
    static Map<String, float[]> recordAll(HookedTaps taps, Runnable forward) {
        Map<String, float[]> seen = new LinkedHashMap<>();
        try (var h = taps.register("*", (Observer) (tap, x, ctx) -> seen.put(tap, x.data().clone()))) {
            forward.run();
        }
        return seen;
    }

    @Test
    void identityEditorLeavesOutputsBitIdentical() {
        float[] plain = model.forward(new Ctx(OPS), latents, ids).data();
        HookedTaps taps = new HookedTaps(OPS);
        int[] calls = {0};
        float[] edited;
        try (var h = taps.register("*", (Editor) (tap, x, ctx) -> { calls[0]++; return x; })) {
            edited = run(taps).data();
        }
        assertEquals(SyntheticModel.TAPS.size(), calls[0], "the editor ran at every tap");
        for (float v : plain) assertTrue(Float.isFinite(v));
        assertArrayEquals(plain, edited);
        assertArrayEquals(plain, run(taps).data(), "no hooks: same output");
    }

    @Test
    void hooksRunInRegistrationOrderAndSeeEarlierEdits() {
        HookedTaps taps = new HookedTaps(OPS);
        List<String> log = new ArrayList<>();
        float[][] seen = new float[2][];
        try (var a = taps.register("unet.mid_block", (Observer) (t, x, c) -> { log.add("a"); seen[0] = x.data().clone(); });
             var b = taps.register("unet.*", (Editor) (t, x, c) -> { if (t.equals("unet.mid_block")) log.add("b"); return c.ops().scale(x, 2f); });
             var d = taps.register("unet.mid_block", (Observer) (t, x, c) -> { log.add("c"); seen[1] = x.data().clone(); })) {
            run(taps);
        }
        assertEquals(List.of("a", "b", "c"), log);
        for (int i = 0; i < seen[0].length; i++) assertEquals(2 * seen[0][i], seen[1][i], 0f);
    }

    @Test
    void scopedRegistrationIsGoneAfterTheBlockEvenOnException() {
        HookedTaps taps = new HookedTaps(OPS);
        int[] calls = {0};
        Observer count = (t, x, c) -> calls[0]++;
        try (var h = taps.register("unet.conv_in", count)) {
            run(taps);
        }
        assertEquals(1, calls[0]);
        assertTrue(taps.isEmpty());
        run(taps);
        assertEquals(1, calls[0], "the hook must not leak into the next call");

        assertThrows(IllegalStateException.class, () -> {
            try (var h = taps.register("unet.conv_in", count)) {
                run(taps);
                throw new IllegalStateException("generation failed");
            }
        });
        assertTrue(taps.isEmpty());
        run(taps);
        assertEquals(2, calls[0]);
    }

    @Test
    void lookupCacheFollowsRegistrations() {
        HookedTaps taps = new HookedTaps(OPS);
        List<String> log = new ArrayList<>();
        Tensor x = Tensor.of(new float[] {1, 2}, 1, 2);
        var a = taps.register("unet.conv_in", (Observer) (t, v, c) -> log.add("a"));
        taps.at("unet.conv_in", TapLayout.NC, x, ModelCall.NONE);
        var b = taps.register("unet.*", (Observer) (t, v, c) -> log.add("b"));
        taps.at("unet.conv_in", TapLayout.NC, x, ModelCall.NONE);
        a.close();
        a.close();   // closing twice is harmless
        taps.at("unet.conv_in", TapLayout.NC, x, ModelCall.NONE);
        b.close();
        assertSame(x, taps.at("unet.conv_in", TapLayout.NC, x, ModelCall.NONE));
        assertEquals(List.of("a", "a", "b", "b"), log);
    }

    @Test
    void editorAtOneTapChangesOnlyWhatIsDownstream() {
        HookedTaps taps = new HookedTaps(OPS);
        Map<String, float[]> base = recordAll(taps, () -> run(taps));
        float[] v = new float[SyntheticModel.C];
        for (int i = 0; i < v.length; i++) v[i] = 0.5f + i;
        Map<String, float[]> edited;
        float[] expected;
        try (var h = taps.register(ATTN2, (Editor) (t, x, c) -> c.ops().add(x, broadcast(v, x.shape())))) {
            edited = recordAll(taps, () -> run(taps));
        }
        int[] shape = {2, SyntheticModel.H * SyntheticModel.W, SyntheticModel.C};
        expected = OPS.add(Tensor.of(base.get(ATTN2), shape), broadcast(v, shape)).data();
        assertArrayEquals(expected, edited.get(ATTN2), "the edited tap holds the value plus the vector");

        int at = SyntheticModel.TAPS.indexOf(ATTN2);
        assertEquals(SyntheticModel.TAPS, List.copyOf(base.keySet()));
        for (int i = 0; i < SyntheticModel.TAPS.size(); i++) {
            String tap = SyntheticModel.TAPS.get(i);
            for (float f : edited.get(tap)) assertTrue(Float.isFinite(f), tap);
            if (i < at) assertArrayEquals(base.get(tap), edited.get(tap), tap + " is upstream of the edit");
            else assertTrue(maxAbsDiff(base.get(tap), edited.get(tap)) > 1e-3, tap + " is downstream of the edit and must change");
        }
    }

    /** The edit example of docs/taps.md: α·v added to the conditional rows only. */
    @Test
    void editorCanTargetTheConditionalHalf() {
        HookedTaps taps = new HookedTaps(OPS);
        Tensor start = SyntheticModel.random(new Random(3), 1, 4, 4, 6);
        int[][] neg = SyntheticModel.tokens(0), pos = SyntheticModel.tokens(2);
        Runnable gen = () -> model.generate(new Ctx(OPS, taps), start, neg, pos, 1);
        Map<String, float[]> base = recordAll(taps, gen);
        float[] v = {1, -2, 3, -4, 5, -6, 7, -8};
        float alpha = 0.5f;
        Editor add = (tap, x, ctx) -> {
            float[] rows = new float[ctx.batch() * v.length];
            for (int r : ctx.rowsOf(CfgHalf.COND))
                for (int c = 0; c < v.length; c++) rows[r * v.length + c] = alpha * v[c];
            return ctx.ops().addChannels(x, ctx.ops().fromHost(rows, ctx.batch(), v.length));
        };
        Map<String, float[]> edited;
        try (var h = taps.register("unet.mid_block", add)) {
            edited = recordAll(taps, gen);
        }
        float[] b = base.get("unet.mid_block"), e = edited.get("unet.mid_block");
        int half = b.length / 2, hw = half / v.length;    // rows: [uncond, cond], each [C, H, W]
        for (int i = 0; i < half; i++) assertEquals(b[i], e[i], 0f, "the unconditional row is untouched");
        for (int i = 0; i < half; i++) assertEquals(b[half + i] + alpha * v[i / hw], e[half + i], 1e-5f * Math.max(1, Math.abs(b[half + i])));
    }

    @Test
    void contextDescribesStepRowsAndComponent() {
        HookedTaps taps = new HookedTaps(OPS);
        List<String> log = new ArrayList<>();
        Observer o = (t, x, c) -> {
            StringBuilder s = new StringBuilder(c.component() + " " + c.layout() + " step " + c.step() + " t " + c.timestep() + " rows");
            for (int r = 0; r < c.batch(); r++) s.append(' ').append(c.half(r).label).append(c.prompt(r));
            s.append(" cond ").append(Arrays.toString(c.rowsOf(CfgHalf.COND)));
            log.add(s.toString());
        };
        try (var h = taps.register("text_encoder.text_model.final_layer_norm,unet.conv_in", o)) {
            model.generate(new Ctx(OPS, taps), SyntheticModel.random(new Random(3), 2, 4, 4, 6),
                SyntheticModel.tokens(0, 0), SyntheticModel.tokens(2, 4), 2);
        }
        assertEquals(List.of(
            "text_encoder NLC step -1 t NaN rows uncond0 uncond1 cond0 cond1 cond [2, 3]",
            "unet NCHW step 0 t 999.0 rows uncond0 uncond1 cond0 cond1 cond [2, 3]",
            "unet NCHW step 1 t 666.0 rows uncond0 uncond1 cond0 cond1 cond [2, 3]"), log);
    }

    @Test
    void rowsThatDoNotMatchTheBatchAreAnInternalError() {
        HookedTaps taps = new HookedTaps(OPS);
        try (var h = taps.register("unet.conv_in", (Observer) (t, x, c) -> {})) {
            Ctx wrong = new Ctx(OPS, taps, ModelCall.outside(TapContext.Rows.cfg(3)));
            var e = assertThrows(IllegalStateException.class, () -> model.forward(wrong, latents, ids));
            assertTrue(e.getMessage().contains("unet.conv_in has a batch of 2 rows"), e.getMessage());
            run(taps);   // rows nobody described: every row COND
        }
    }

    @Test
    void editorMustKeepTheShape() {
        HookedTaps taps = new HookedTaps(OPS);
        try (var h = taps.register("unet.conv_in", (Editor) (t, x, c) -> c.ops().slice(x, 1, 0, 1))) {
            var e = assertThrows(IllegalStateException.class, () -> run(taps));
            assertTrue(e.getMessage().contains("editor at unet.conv_in"), e.getMessage());
        }
    }

    @Test
    void registrationIsCheckedAgainstTheCatalog() {
        TapCatalog catalog = TapCatalog.record(ShapeBackend.INSTANCE, c -> model.forward(c, latents, ids));
        HookedTaps taps = new HookedTaps(OPS, catalog);
        var e = assertThrows(UserError.class, () -> taps.register("unet.mid_blok", (Observer) (t, x, c) -> {}));
        assertTrue(e.getMessage().startsWith("unknown tap 'unet.mid_blok'; closest: unet.mid_block,"), e.getMessage());
        assertTrue(taps.isEmpty());
        try (var h = taps.register("unet.mid_block", (Observer) (t, x, c) -> {})) {
            assertFalse(taps.isEmpty());
        }
    }

    static Tensor broadcast(float[] v, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = v[i % v.length];
        return Tensor.of(d, shape);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
