package dev.stitch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The steering loop end to end on the built-in tiny model and on the conformance model (skipped if absent): extract
 * from pairs through the CLI, then check the file against activations computed independently, and steering against
 * the tap values an observer sees before and after the editor.
 */
class SteeringEndToEndTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance")).resolve("tiny-sd2");
    static final String TAPS = "unet.down_blocks.1.attentions.0,unet.mid_block,unet.up_blocks.1.attentions.0,unet.up_blocks.2.resnets.1,"
        + "text_encoder.text_model.encoder.layers.1";
    static final String[] PAIRS = {"a red car, in deep snow", "a red car", "a small house, in deep snow", "a small house",
        "a dog, in deep snow", "a dog"};
    static final int SEED = 5, STEPS = 3;

    @TempDir static Path dir;
    static Path tiny, pairs;
    static final Backend ops = Backends.byName("cpu");
    static final Map<String, StableDiffusionPipeline> pipes = new HashMap<>();

    @BeforeAll
    static void makeModel() throws IOException {
        tiny = dir.resolve("tiny");
        RandomModel.write("tiny", tiny, 0, DType.F32, null);
        pairs = dir.resolve("pairs.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < PAIRS.length; i += 2)
            s.append("{\"positive\": \"").append(PAIRS[i]).append("\", \"negative\": \"").append(PAIRS[i + 1]).append("\"}\n");
        Files.writeString(pairs, s);
    }

    static Path model(String name) {
        if (name.equals("tiny")) return tiny;
        assumeTrue(Files.isDirectory(CONFORMANCE), "conformance model not found at " + CONFORMANCE + "; skipped");
        return CONFORMANCE;
    }

    static StableDiffusionPipeline pipe(Path model) { return pipes.computeIfAbsent(model.toString(), k -> StableDiffusionPipeline.load(model)); }

    /** {@code stitch extract} on {@code model} with the common flags and {@code extra}; returns the file. */
    static Path extract(Path model, String name, String... extra) {
        Path out = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of("extract", "--model", model.toString(), "--pairs", pairs.toString(), "--taps", TAPS,
            "--steps", Integer.toString(STEPS), "--seed", Integer.toString(SEED), "--width", "64", "--height", "64", "--device", "cpu",
            "--out", out.toString()));
        args.addAll(List.of(extra));
        var r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return out;
    }

    static GenerateRequest request(StableDiffusionPipeline pipe, String prompt, long seed) {
        return pipe.request(prompt).steps(STEPS).seed(seed).size(64, 64).build();
    }

    /** The spatial (or all-token) mean of {@code prompt}'s cond-half activation at step 0, computed on its own. */
    static Map<String, float[]> pooledAtStep0(StableDiffusionPipeline pipe, String prompt, long seed) {
        HookedTaps taps = new HookedTaps(ops);
        Cache cache = new Cache();
        try (var h = taps.register(TAPS, cache.capture(Reduction.MEAN).halves(CfgHalf.COND).steps(StepSet.of(0)))) {
            pipe.denoiseUntil(request(pipe, prompt, seed), ops, taps, StableDiffusionPipeline.Progress.NONE, 0);
        }
        Map<String, float[]> out = new HashMap<>();
        for (String t : TAPS.split(",")) out.put(t, cache.get(t, t.startsWith("unet.") ? 0 : -1, CfgHalf.COND).data());
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "conformance"})
    void meanDiffAtStepZeroIsTheMeanOfPairedDifferences(String name) {
        Path model = model(name);
        Path file = extract(model, name + "-step0.safetensors", "--at-steps", "0", "--half", "cond", "--method", "mean-diff");
        SteeringFile f = SteeringFile.read(file);
        StableDiffusionPipeline pipe = pipe(model);
        int n = PAIRS.length / 2;
        Map<String, double[]> expected = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Map<String, float[]> p = pooledAtStep0(pipe, PAIRS[2 * i], SEED + i), q = pooledAtStep0(pipe, PAIRS[2 * i + 1], SEED + i);
            for (String t : p.keySet()) {
                double[] e = expected.computeIfAbsent(t, k -> new double[p.get(k).length]);
                for (int j = 0; j < e.length; j++) e[j] += ((double) p.get(t)[j] - q.get(t)[j]) / n;
            }
        }
        for (String t : TAPS.split(",")) {
            float[] v = f.taps().get(t).vector(0);
            double[] e = expected.get(t);
            assertEquals(e.length, v.length, t);
            double max = 0, err = 0;
            for (int j = 0; j < e.length; j++) {
                assertTrue(Float.isFinite(v[j]), t);
                max = Math.max(max, Math.abs(e[j]));
                err = Math.max(err, Math.abs(e[j] - v[j]));
            }
            assertTrue(max > 1e-6, t + ": the pairs should differ");
            assertTrue(err <= 1e-6 * max, t + ": max error " + err + " vs max |v| " + max);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "conformance"})
    void addShiftsEveryTokensProjectionByStrengthTimesNorm(String name) throws Exception {
        Path model = model(name);
        SteeringFile f = SteeringFile.read(extract(model, name + "-add.safetensors", "--at-steps", "0-1"));
        StableDiffusionPipeline pipe = pipe(model);
        TapCatalog catalog = pipe.tapCatalog(64, 64);
        float alpha = 3f;
        SteeringPlan plan = SteeringPlan.defaults(f, alpha);
        plan.check(catalog, "test");
        HookedTaps taps = new HookedTaps(ops, catalog);
        Cache before = new Cache(), after = new Cache();
        try (var b = taps.register(TAPS, before.capture(Reduction.NONE).steps(StepSet.of(0)));
             var s = plan.register(taps);
             var a = taps.register(TAPS, after.capture(Reduction.NONE).steps(StepSet.of(0)))) {
            pipe.denoiseUntil(request(pipe, "a red car", 11), ops, taps, StableDiffusionPipeline.Progress.NONE, 0);
        }
        for (String t : TAPS.split(",")) {
            float[] v = f.taps().get(t).vector(0);
            double norm = 0;
            for (float x : v) norm += (double) x * x;
            norm = Math.sqrt(norm);
            assertTrue(norm > 0, t);
            TapLayout layout = catalog.entry(t).layout();
            int step = t.startsWith("unet.") ? 0 : -1;
            for (CfgHalf half : CfgHalf.values()) {   // the file's default half is both
                Tensor x0 = before.get(t, step, half), x1 = after.get(t, step, half);
                float[] p0 = projections(x0, layout, v), p1 = projections(x1, layout, v);
                assertEquals(layout == TapLayout.NLC ? x0.dim(1) : x0.dim(2) * x0.dim(3), p0.length, t + ": one projection per token");
                for (int k = 0; k < p0.length; k++) {
                    double tol = 1e-5 * (Math.abs(p0[k]) + alpha * norm + 1);
                    assertEquals(p0[k] + alpha * norm, p1[k], tol, t + " " + half + " token " + k);
                }
            }
        }
    }

    /** x·v̂ for every token (batch row × position) of a [n, C, H, W] or [n, L, C] value. */
    static float[] projections(Tensor x, TapLayout layout, float[] v) {
        int[] s = x.shape();
        int c = s[layout.channelAxis], n = s[0], per = Math.toIntExact(x.numel() / n), tokens = per / c;
        double vn = 0;
        for (float e : v) vn += (double) e * e;
        vn = Math.sqrt(vn);
        float[] d = x.data(), out = new float[n * tokens];
        for (int b = 0; b < n; b++)
            for (int t = 0; t < tokens; t++) {
                double p = 0;
                for (int j = 0; j < c; j++) p += (double) d[b * per + (layout == TapLayout.NCHW ? j * tokens + t : t * c + j)] * v[j];
                out[b * tokens + t] = (float) (p / vn);
            }
        return out;
    }

    @Test
    void multiLayerSteeringEditsExactlyTheTapsAsked() throws Exception {
        SteeringFile f = SteeringFile.read(extract(tiny, "multi.safetensors", "--at-steps", "0"));
        StableDiffusionPipeline pipe = pipe(tiny);
        TapCatalog catalog = pipe.tapCatalog(64, 64);
        List<String> steered = List.of("unet.down_blocks.1.attentions.0", "unet.up_blocks.2.resnets.1");
        SteeringPlan plan = SteeringPlan.defaults(f, 2f).restrictedTo(steered);
        HookedTaps taps = new HookedTaps(ops, catalog);
        Cache before = new Cache(), after = new Cache(), plain = new Cache();
        try (var b = taps.register("unet.*", before.capture(Reduction.NONE).steps(StepSet.of(0)));
             var s = plan.register(taps);
             var a = taps.register("unet.*", after.capture(Reduction.NONE).steps(StepSet.of(0)))) {
            pipe.denoiseUntil(request(pipe, "a dog", 3), ops, taps, StableDiffusionPipeline.Progress.NONE, 0);
        }
        try (var p = taps.register("unet.*", plain.capture(Reduction.NONE).steps(StepSet.of(0)))) {
            pipe.denoiseUntil(request(pipe, "a dog", 3), ops, taps, StableDiffusionPipeline.Progress.NONE, 0);
        }
        boolean upstream = true;
        int checked = 0;
        for (TapCatalog.Entry e : catalog.entries()) {
            String t = e.name();
            if (!t.startsWith("unet.")) continue;
            for (CfgHalf half : CfgHalf.values()) {
                float[] x0 = before.get(t, 0, half).data(), x1 = after.get(t, 0, half).data();
                for (float x : x1) assertTrue(Float.isFinite(x), t);
                if (steered.contains(t)) assertFalse(java.util.Arrays.equals(x0, x1), t + " should be edited");
                else assertArrayEquals(x0, x1, t + " is not steered: the hooks must leave it bit-identical");
                if (upstream) assertArrayEquals(plain.get(t, 0, half).data(), x0, t + " comes before every steered tap");
            }
            checked++;
            if (steered.contains(t)) upstream = false;
        }
        assertTrue(checked > 50, "checked " + checked + " UNet taps");
    }

    @Test
    void fileIsSafetensorsWithTheDesignMetadata() {
        Path file = extract(tiny, "meta.safetensors", "--at-steps", "0-1", "--method", "pca-diff");
        SafeTensors st = SafeTensors.open(file);
        Map<String, String> md = st.metadata();
        for (String k : List.of("stitch_steering", "method", "operator", "strength", "window", "half", "model", "model_config_sha256",
            "prompt_set_sha256", "layer_scores")) assertTrue(md.containsKey(k) && !md.get(k).isBlank(), "metadata " + k + " in " + md.keySet());
        assertEquals("pca-diff", md.get("method"));
        assertEquals("add", md.get("operator"));
        assertEquals("tiny", md.get("model"));
        assertEquals(dev.stitch.steering.PromptPairs.read(pairs).sha256(), md.get("prompt_set_sha256"));
        TapCatalog catalog = pipe(tiny).tapCatalog(64, 64);
        assertEquals(List.of(TAPS.split(",")).stream().sorted().toList(), st.names().stream().sorted().toList());
        for (String t : st.names()) {
            assertEquals(SafeDType.F32, st.entry(t).dtype());
            assertArrayEquals(new int[] {catalog.entry(t).channels()}, st.entry(t).intShape(), t);
            for (float x : st.floats(t)) assertTrue(Float.isFinite(x), t);
        }
        assertEquals(List.of(TAPS.split(",")).size(), SteeringFile.read(file).layerScores().size());
    }

    @Test
    void perStepFilesHoldOneRowPerRecordedStep() {
        Path both = extract(tiny, "perstep.safetensors", "--at-steps", "0,2", "--per-step");
        Path s0 = extract(tiny, "s0.safetensors", "--at-steps", "0"), s2 = extract(tiny, "s2.safetensors", "--at-steps", "2");
        SteeringFile f = SteeringFile.read(both), f0 = SteeringFile.read(s0), f2 = SteeringFile.read(s2);
        assertEquals("0,2", f.meta(SteeringFile.STEPS, null));
        SafeTensors st = SafeTensors.open(both);
        assertArrayEquals(new int[] {2, 64}, st.entry("unet.mid_block").intShape());
        assertArrayEquals(new int[] {32}, st.entry("text_encoder.text_model.encoder.layers.1").intShape(), "text taps have no steps");
        for (String t : List.of("unet.mid_block", "unet.up_blocks.2.resnets.1")) {
            assertArrayEquals(f0.taps().get(t).vector(0), f.taps().get(t).vector(0), t);
            assertArrayEquals(f0.taps().get(t).vector(0), f.taps().get(t).vector(1), t + ": step 1 uses the row of step 0");
            assertArrayEquals(f2.taps().get(t).vector(0), f.taps().get(t).vector(2), t);
        }
    }

    @Test
    void sameInputsGiveTheSameBytes() throws IOException {
        Path a = extract(tiny, "det-a.safetensors", "--at-steps", "0-1", "--method", "lda");
        Path b = extract(tiny, "det-b.safetensors", "--at-steps", "0-1", "--method", "lda");
        assertEquals(-1, Files.mismatch(a, b));
    }

    @Test
    void incrementalActLinearIsExtractedTapByTapAndSteersWithAct() throws IOException {
        SteeringFile once = SteeringFile.read(extract(tiny, "act.safetensors", "--at-steps", "0-1", "--method", "act-linear"));
        SteeringFile incr = SteeringFile.read(extract(tiny, "act-incr.safetensors", "--at-steps", "0-1", "--method", "act-linear-incremental"));
        assertEquals("act-linear-incremental", incr.meta(SteeringFile.METHOD, null));
        assertEquals(once.taps().keySet(), incr.taps().keySet());
        String first = incr.taps().keySet().iterator().next(), last = List.copyOf(incr.taps().keySet()).getLast();
        assertEquals("text_encoder.text_model.encoder.layers.1", first, "taps in call order: the text encoder first");
        assertArrayEquals(once.taps().get(first).transport(-1).beta(), incr.taps().get(first).transport(-1).beta(), 0f);
        assertFalse(java.util.Arrays.equals(once.taps().get(last).transport(-1).beta(), incr.taps().get(last).transport(-1).beta()));
        Path png = dir.resolve("incr.png");
        var r = CliRunner.run("generate", "--model", tiny.toString(), "--prompt", "a dog", "--steps", "2", "--seed", "1", "--width", "64", "--height", "64",
            "--device", "cpu", "--steer", dir.resolve("act-incr.safetensors") + "@1", "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(png));
    }

    @Test
    void fileForAnotherModelIsRefusedWithOneLine() throws IOException {
        Path file = extract(tiny, "refuse.safetensors", "--at-steps", "0");
        Path configs = dir.resolve("wide-configs");
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "unet/config.json", "vae/config.json")) {
            Files.createDirectories(configs.resolve(f).getParent());
            try (InputStream in = RandomModel.class.getResourceAsStream("/dev/stitch/engine/presets/tiny/" + f)) {
                Files.copy(in, configs.resolve(f));
            }
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode unet = (ObjectNode) om.readTree(configs.resolve("unet/config.json").toFile());
        ArrayNode widths = unet.putArray("block_out_channels");
        for (int w : new int[] {32, 32, 64, 96}) widths.add(w);
        om.writeValue(configs.resolve("unet/config.json").toFile(), unet);
        Path wide = dir.resolve("wide");
        RandomModel.writeFromConfigs(configs, wide, 1, DType.F32, null);
        var r = CliRunner.run("generate", "--model", wide.toString(), "--prompt", "a dog", "--steps", "1", "--seed", "1", "--device", "cpu",
            "--steer", file.toString(), "--out", dir.resolve("refused.png").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("refuse.safetensors") && r.err().contains("channels") && r.err().contains("another model"), r.err());
        assertFalse(Files.exists(dir.resolve("refused.png")));
    }

    @Test
    void fileWithATextLayerTheConformanceModelLacksIsRefused() {
        model("conformance");
        Path file = dir.resolve("layer3.safetensors");
        var r = CliRunner.run("extract", "--model", tiny.toString(), "--pairs", pairs.toString(), "--taps", "text_encoder.text_model.encoder.layers.3",
            "--steps", "1", "--device", "cpu", "--out", file.toString());
        assertEquals(0, r.code(), r.err());
        r = CliRunner.run("generate", "--model", CONFORMANCE.toString(), "--prompt", "a dog", "--steps", "1", "--seed", "1", "--device", "cpu",
            "--width", "64", "--height", "64", "--steer", file.toString(), "--out", dir.resolve("refused2.png").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("layers.3") && r.err().contains("does not exist"), r.err());
    }

    @Test
    void generateScheduleFlags() throws IOException {
        Path file = extract(tiny, "flags.safetensors", "--at-steps", "0");
        String[] common = {"generate", "--model", tiny.toString(), "--prompt", "a dog", "--steps", "2", "--seed", "4", "--device", "cpu"};
        RgbImage plain = generate(common, "plain.png");
        assertEquals(0, dev.stitch.steering.Sweep.pixelRms(plain, generate(common, "zero.png", "--steer", file + "@0")), "strength 0 is unsteered");
        assertEquals(0, dev.stitch.steering.Sweep.pixelRms(plain, generate(common, "tapzero.png", "--steer", file + "@3", "--steer-tap", "*=0")),
            "--steer-tap overrides every tap");
        RgbImage steered = generate(common, "steered.png", "--steer", file + "@3", "--steer-op", "add", "--steer-half", "cond",
            "--steer-preserve-norm", "--steer-window", "0-1");
        assertTrue(dev.stitch.steering.Sweep.pixelRms(plain, steered) > 0, "steering changes the image");
        // the image says how it was steered (a PNG tEXt chunk: keyword, NUL, text)
        String png = new String(Files.readAllBytes(dir.resolve("steered.png")), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(png.contains("steering\0" + file.getFileName() + ": add at 3.0 on "), "no steering text chunk");
        assertTrue(png.contains(", window 0-1, half cond, norm preserved"), "the schedule is in the steering text");
        assertFalse(new String(Files.readAllBytes(dir.resolve("plain.png")), java.nio.charset.StandardCharsets.ISO_8859_1)
            .contains("steering\0"), "an unsteered image has no steering text");
        // guidance <= 1 (SD-Turbo's 0) runs no unconditional pass: steering only that half would steer nothing
        for (String guidance : new String[] {"1", "0"}) {
            var r = CliRunner.run(concat(common, "--steer", file + "@3", "--steer-half", "uncond", "--guidance", guidance,
                "--out", dir.resolve("uncond-only.png").toString()));
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("--steer-half uncond") && r.err().contains("no unconditional pass"), r.err());
            assertFalse(Files.exists(dir.resolve("uncond-only.png")));
        }
        generate(common, "cond-unguided.png", "--steer", file + "@3", "--steer-half", "cond", "--guidance", "0");
        var r = CliRunner.run(concat(common, "--steer", file.toString(), "--steer-window", "5", "--out", dir.resolve("bad.png").toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("step 5 does not exist"), r.err());
        r = CliRunner.run(concat(common, "--steer", file.toString(), "--steer-tap", "unet.nothing=2", "--out", dir.resolve("bad.png").toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--steer-tap"), r.err());
    }

    private static RgbImage generate(String[] common, String name, String... extra) {
        Path out = dir.resolve(name);
        var r = CliRunner.run(concat(concat(common, extra), "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        return Png.read(out);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void extractBadInputIsOneLine() throws IOException {
        String[][] cases = {
            {"--taps", "vae.decoder.up_blocks.0", "extraction reads text_encoder and unet taps only"},
            {"--taps", "unet.mid_blok", "unknown tap 'unet.mid_blok'; closest: unet.mid_block"},
            {"--at-steps", "7", "step 7 does not exist"},
            {"--method", "svd", "--method svd: expected one of mean-diff"},
            {"--tokens", "first", "--tokens first"},
            {"--prompt", "a cat", "prompts come from --pairs"},
            {"--half", "neither", "--half neither: expected cond, uncond or both"},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of("extract", "--model", tiny.toString(), "--pairs", pairs.toString(), "--steps", "2",
                "--device", "cpu", "--out", dir.resolve("bad.safetensors").toString()));
            if (!c[0].equals("--taps")) args.addAll(List.of("--taps", "unet.mid_block,text_encoder.text_model.encoder.layers.0"));
            args.addAll(List.of(c[0], c[1]));
            var r = CliRunner.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), c[0] + " " + c[1] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(c[2]), "expected '" + c[2] + "' in: " + r.err());
        }
        assertFalse(Files.exists(dir.resolve("bad.safetensors")));
    }

    @Test
    void layersRanksTapsAndPlots() throws IOException {
        Path plot = dir.resolve("layers.png"), json = dir.resolve("layers.json");
        var r = CliRunner.run("layers", "--model", tiny.toString(), "--pairs", pairs.toString(), "--taps", "unet.*.attentions.?,unet.mid_block",
            "--steps", "2", "--device", "cpu", "--top", "3", "--plot", plot.toString(), "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = r.out().lines().filter(l -> l.matches("\\s+\\d+\\s+unet\\..*")).toList();
        assertEquals(3, rows.size(), r.out());
        assertTrue(r.out().contains("early") && r.out().contains("middle") && r.out().contains("late"), r.out());
        JsonNode scores = new ObjectMapper().readTree(json.toFile());
        double prev = Double.POSITIVE_INFINITY;
        for (String row : rows) {
            String[] cols = row.strip().split("\\s+");
            double s = Double.parseDouble(cols[cols.length - 1]);
            assertTrue(s <= prev, "ranked by s: " + r.out());
            prev = s;
        }
        for (JsonNode n : scores) {
            assertEquals(n.get("D").asDouble() + n.get("C").asDouble(), n.get("s").asDouble(), 1e-9);
            assertTrue(Double.isFinite(n.get("s").asDouble()));
        }
        RgbImage img = Png.read(plot);
        assertTrue(img.width() >= 600 && img.height() >= 300);
    }

    @Test
    void sweepGridAndCells() throws IOException {
        Path file = extract(tiny, "sweep.safetensors", "--at-steps", "0");
        Path grid = dir.resolve("grid.png");
        var r = CliRunner.run("sweep", "--model", tiny.toString(), "--prompt", "a dog", "--steps", "2", "--seed", "2", "--device", "cpu",
            "--steer", file.toString(), "--strengths", "0,4", "--layer-sets", "top2,middle", "--operators", "add,ablate", "--out", grid.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(dir.resolve("grid.json").toFile());
        assertEquals(4, j.get("rows").size());
        assertEquals(3, j.get("columns").size());
        assertEquals(4 * 3, j.get("cells").size());
        int steeredCells = 0;
        for (JsonNode c : j.get("cells")) {
            if (!c.get("steered").asBoolean()) continue;
            steeredCells++;
            double rms = c.get("pixel_rms_vs_unsteered").asDouble();
            if (c.get("strength").asDouble() == 0) assertEquals(0, rms, "strength 0 is the baseline");
            if (c.get("layer_set").asText().equals("top2")) assertEquals(2, c.get("taps").size());
        }
        assertEquals(8, steeredCells);
        RgbImage img = Png.read(grid);
        assertTrue(img.width() > 3 * 128 && img.height() > 4 * 128, img.width() + "x" + img.height());
    }
}
