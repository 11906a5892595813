package dev.stitch.engine.pipeline;

import dev.stitch.engine.Weights;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.CaptureKey;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.Editor;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Observer;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.unet.UNet2DConditionModel;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hooks on the real models, through the whole pipeline, on the built-in tiny random-weight model: editors that remove
 * the cross-attention, add a vector at one tap, or change nothing, checked against what they should equal.
 */
class PipelineTapsTest {
    /**
     * The reference backend: bit-identical results need a deterministic backend, and the Vector API leaves the order of
     * a float lane reduction unspecified (interpreted and compiled code may sum differently).
     */
    static final Backend OPS = ReferenceBackend.INSTANCE;
    static final int SIZE = 32, STEPS = 2;
    static Path dir;
    static StableDiffusionPipeline pipe;
    static StableDiffusion sd;

    @BeforeAll
    static void model() throws IOException {
        dir = Files.createTempDirectory("stitch-tiny-");
        RandomModel.write("tiny", dir.resolve("tiny"), 7, DType.F32, null);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"));
        sd = new StableDiffusion(pipe, OPS);
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (sd != null) sd.close();
        if (dir != null) RandomModel.deleteTree(dir);
    }

    static GenerateRequest request() {
        return sd.request("a red cube", "a blue sphere").steps(STEPS).seed(3).size(SIZE, SIZE).build();
    }

    static void assertFinite(float[] x, String what) {
        for (int i = 0; i < x.length; i++) assertTrue(Float.isFinite(x[i]), what + ": non-finite value at " + i);
    }

    /** Every tap call of a run: name → layout and shape of its first call, in call order. */
    static Map<String, TapCatalog.Entry> callsOf(GenerateRequest r) {
        Map<String, TapCatalog.Entry> seen = new LinkedHashMap<>();
        HookedTaps taps = new HookedTaps(OPS);
        try (var h = taps.register("*", (Observer) (tap, x, ctx) -> seen.putIfAbsent(tap, new TapCatalog.Entry(tap, ctx.layout(), x.shape())))) {
            pipe.generate(r, OPS, taps, StableDiffusionPipeline.Progress.NONE);
        }
        return seen;
    }

    @Test
    void catalogListsTheTapsARunCalls() {
        TapCatalog catalog = pipe.tapCatalog(SIZE, SIZE);
        Map<String, TapCatalog.Entry> called = callsOf(request());
        // txt2img never runs the VAE encoder: every other tap of the catalog is called, in the catalog's order
        List<String> expected = catalog.names().stream().filter(n -> !n.startsWith("vae.encoder") && !n.equals("vae.quant_conv")).toList();
        assertEquals(expected, List.copyOf(called.keySet()));
        for (TapCatalog.Entry e : called.values()) {
            TapCatalog.Entry c = catalog.entry(e.name());
            assertEquals(c.layout(), e.layout(), e.name());
            int[] run = e.shape(), one = c.shape();
            assertEquals(1, one[0], e.name());
            run[0] = 1;                                    // the run's batch: 2 prompts × 2 halves (1 image each for the VAE)
            assertArrayEquals(one, run, e.name());
        }
        assertEquals(TapLayout.NLC, catalog.entry("unet.mid_block.attentions.0.transformer_blocks.0.attn2").layout());
        assertTrue(catalog.contains("vae.encoder.down_blocks.0") && catalog.contains("vae.quant_conv"), "the VAE encoder is listed too");
    }

    /** The UNet with every cross-attention's output projection set to zero: attn2 then contributes exactly nothing. */
    static UNet2DConditionModel unetWithoutCrossAttention() {
        SafeTensors st = SafeTensors.open(pipe.source.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int zeroed = 0;
        for (String n : st.names()) {
            boolean out = n.contains(".attn2.to_out.0.");
            tensors.put(n, out ? Tensor.zeros(st.entry(n).intShape()) : st.tensor(n));
            if (out) zeroed++;
        }
        assertEquals(2 * 16, zeroed, "weight and bias of 16 cross-attentions");
        return new UNet2DConditionModel(pipe.unet.config, Weights.of("unet", "attn2 zeroed", tensors));
    }

    @Test
    void zeroingEveryAttn2EqualsAUNetWithoutCrossAttention() {
        GenerateRequest r = request();
        var noCross = new StableDiffusionPipeline(pipe.source, pipe.tokenizer, pipe.textEncoder, unetWithoutCrossAttention(), pipe.vae,
            pipe.schedulerConfig);
        GenerateResult reference = noCross.generate(r, OPS, Taps.NONE, StableDiffusionPipeline.Progress.NONE);

        AtomicInteger calls = new AtomicInteger();
        Editor zero = (tap, x, ctx) -> {
            calls.incrementAndGet();
            return ctx.ops().fromHost(new float[Math.toIntExact(x.numel())], x.shape());
        };
        GenerateResult edited;
        try (var h = sd.hooks("unet.*.attn2", zero)) {
            edited = sd.generate(r);
        }
        GenerateResult plain = pipe.generate(r, OPS, Taps.NONE, StableDiffusionPipeline.Progress.NONE);

        assertEquals(16 * STEPS, calls.get(), "16 cross-attentions per UNet call");
        float[] want = reference.latents().data(), got = edited.latents().data();
        assertFinite(got, "edited latents");
        assertArrayEquals(want, got, "latents bit-identical to the UNet whose attn2 outputs are zero");
        assertArrayEquals(reference.imageRaw().data(), edited.imageRaw().data());
        assertFalse(Arrays.equals(plain.latents().data(), got), "the cross-attention mattered in the first place");
    }

    @Test
    void addingAVectorChangesOnlyWhatIsDownstream() {
        GenerateRequest r = request();
        int last = STEPS - 1;
        Cache before = sd.runWithCache(r, "*", Reduction.NONE).cache();

        // α·v on the conditional rows of unet.mid_block at the last step; a capture registered after it sees the result
        float[] v = new float[64];
        Random rnd = new Random(5);
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        Editor add = (tap, x, ctx) -> {
            if (ctx.step() != last) return x;
            float[] rows = new float[ctx.batch() * v.length];
            for (int row : ctx.rowsOf(CfgHalf.COND))
                for (int c = 0; c < v.length; c++) rows[row * v.length + c] = 0.5f * v[c];
            return ctx.ops().addChannels(x, ctx.ops().fromHost(rows, ctx.batch(), v.length));
        };
        Cache after = new Cache();
        try (var e = sd.hooks("unet.mid_block", add); var c = sd.hooks("*", after.capture(Reduction.NONE))) {
            sd.generate(r);
        }

        List<CaptureKey> keys = new ArrayList<>(before.keys());
        assertEquals(keys, new ArrayList<>(after.keys()), "the same tensors, captured in the same order");
        int edit = keys.indexOf(new CaptureKey("unet.mid_block", last, CfgHalf.UNCOND));
        assertTrue(edit > 0);
        int upstream = 0, otherHalf = 0, downstream = 0;
        for (int i = 0; i < keys.size(); i++) {
            CaptureKey k = keys.get(i);
            float[] a = before.get(k).data(), b = after.get(k).data();
            assertFinite(b, k.tensorName());
            if (i < edit) {
                assertArrayEquals(a, b, "upstream of the edit: " + k.tensorName());
                upstream++;
            } else if (k.step() == last && k.half() == CfgHalf.UNCOND) {
                // the UNet treats rows independently: the unconditional rows of the edited call are untouched
                assertArrayEquals(a, b, "the other CFG half: " + k.tensorName());
                otherHalf++;
            } else {
                assertFalse(Arrays.equals(a, b), "downstream of the edit: " + k.tensorName());
                downstream++;
            }
        }
        System.out.printf("add at unet.mid_block step %d: %d captures upstream identical, %d of the other half identical, %d downstream changed%n",
            last, upstream, otherHalf, downstream);
        assertTrue(upstream > 200 && otherHalf > 10 && downstream > 10 + 50, upstream + " / " + otherHalf + " / " + downstream);
        assertTrue(keys.subList(edit, keys.size()).stream().anyMatch(k -> k.tap().startsWith("vae.")), "the VAE decodes the changed latents");
    }

    @Test
    void identityEditorsLeaveTheImageBitIdentical() throws IOException {
        GenerateRequest r = request();
        GenerateResult plain = pipe.generate(r, OPS, Taps.NONE, StableDiffusionPipeline.Progress.NONE);
        AtomicInteger calls = new AtomicInteger();
        Editor same = (tap, x, ctx) -> x;
        Editor copy = (tap, x, ctx) -> {                   // a new tensor with the same numbers
            calls.incrementAndGet();
            return ctx.ops().fromHost(ctx.ops().toHost(x).clone(), x.shape());
        };
        GenerateResult edited;
        try (var a = sd.hooks("*", same); var b = sd.hooks("*", copy)) {
            edited = sd.generate(r);
        }

        int perRun = 0;
        for (String n : callsOf(r).keySet()) perRun += n.startsWith("unet.") ? STEPS : 1;
        assertEquals(perRun, calls.get(), "the editor ran at every tap call");
        assertFinite(edited.latents().data(), "latents");
        assertArrayEquals(plain.latents().data(), edited.latents().data());
        for (int i = 0; i < r.batch(); i++) {
            Path a = dir.resolve("plain-" + i + ".png"), b = dir.resolve("edited-" + i + ".png");
            Png.write(a, new RgbImage(SIZE, SIZE, plain.pixels()[i]), Map.of());
            Png.write(b, new RgbImage(SIZE, SIZE, edited.pixels()[i]), Map.of());
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "PNG " + i);
        }
    }

    @Test
    void runWithCacheKeysEveryCallAndChecksPatterns() {
        GenerateRequest r = request();
        var run = sd.runWithCache(r, "unet.mid_block,text_encoder.text_model.encoder.layers.3", Reduction.MEAN);
        Cache cache = run.cache();
        assertEquals(2 * (1 + STEPS), cache.size(), "text encoder once, mid block per step, both halves each");
        Tensor mid = cache.get("unet.mid_block", STEPS - 1, CfgHalf.COND);
        assertArrayEquals(new int[] {2, 64}, mid.shape());
        assertFinite(mid.data(), "mid block mean");
        assertArrayEquals(new int[] {2, 32}, cache.get("text_encoder.text_model.encoder.layers.3", -1, CfgHalf.UNCOND).shape());
        assertArrayEquals(pipe.generate(r, OPS, Taps.NONE, StableDiffusionPipeline.Progress.NONE).latents().data(),
            run.result().latents().data(), "observers change nothing");

        UserError e = assertThrows(UserError.class, () -> sd.runWithCache(r, "unet.mid_blok", Reduction.MEAN));
        assertTrue(e.getMessage().contains("closest: unet.mid_block"), e.getMessage());
        assertTrue(sd.taps().isEmpty(), "nothing left registered");
    }

    /** One line per model call a plain {@link Taps} saw at {@code tap}: the step, the timestep and each row's half and prompt. */
    static List<String> callsSeenBy(GenerateRequest r, String tap) {
        List<String> seen = new ArrayList<>();
        Taps mine = (name, layout, value, call) -> {
            if (name.equals(tap)) {
                StringBuilder s = new StringBuilder("step " + call.step() + " t " + call.timestep() + ":");
                for (int row = 0; row < value.dim(0); row++) s.append(' ').append(call.half(row).label).append(call.prompt(row));
                seen.add(s.toString());
            }
            return value;
        };
        pipe.generate(r, OPS, mine, StableDiffusionPipeline.Progress.NONE);
        return seen;
    }

    @Test
    void aUsersOwnTapsLearnsTheStepAndTheHalfOfEachRow() {
        GenerateRequest r = request();
        float[] ts = sd.generate(r).timesteps();
        assertEquals(List.of("step -1 t NaN: uncond0 uncond1 cond0 cond1"), callsSeenBy(r, "text_encoder.text_model.final_layer_norm"));
        assertEquals(List.of("step 0 t " + (double) ts[0] + ": uncond0 uncond1 cond0 cond1", "step 1 t " + (double) ts[1] + ": uncond0 uncond1 cond0 cond1"),
            callsSeenBy(r, "unet.mid_block"));
        assertEquals(List.of("step -1 t NaN: cond0 cond1"), callsSeenBy(r, "vae.decoder.conv_out"));
        // unguided: one conditional row per prompt
        GenerateRequest unguided = r.toBuilder().guidance(1f).build();
        assertEquals(List.of("step 0 t " + (double) ts[0] + ": cond0 cond1", "step 1 t " + (double) ts[1] + ": cond0 cond1"),
            callsSeenBy(unguided, "unet.mid_block"));
    }

    @Test
    void closingTheSessionRemovesItsHooks() {
        GenerateRequest r = request();
        AtomicInteger calls = new AtomicInteger();
        Observer count = (tap, x, ctx) -> calls.incrementAndGet();
        StableDiffusion session = new StableDiffusion(pipe, OPS);
        HookedTaps taps = session.taps();
        session.hooks("unet.mid_block", count);                    // left open on purpose
        taps.register("unet.conv_in", count);                      // registered on its taps directly, as a steering plan does
        session.generate(r);
        assertEquals(2 * STEPS, calls.get());
        session.close();
        assertTrue(taps.isEmpty(), "close removed every hook");
        pipe.generate(r, OPS, taps, StableDiffusionPipeline.Progress.NONE);
        assertEquals(2 * STEPS, calls.get(), "no hook ran after close");
        assertThrows(IllegalStateException.class, () -> session.generate(r));
        assertThrows(IllegalStateException.class, () -> session.hooks("unet.mid_block", count));
    }
}
