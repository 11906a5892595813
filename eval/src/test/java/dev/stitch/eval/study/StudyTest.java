package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.Method;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A study on the tiny random-weight model, end to end: the summary's contract, resuming, refusing changed settings, and each setup's schedule reaching the engine. */
class StudyTest {
    @TempDir static Path shared;
    static Path model;
    static final Backend OPS = Backends.byName("cpu");

    /** 10 taps: 4 early, 2 middle, 4 late. */
    static final String YAML = """
        model: model
        generation: {steps: 2, guidance: 7.5, seed: 3, seeds_per_prompt: 2}
        pairs: pairs.jsonl
        capture: {taps: "unet.down_blocks.?.resnets.0,unet.mid_block.resnets.?,unet.up_blocks.?.resnets.0", batch: 4}
        methods: [mean-diff, pca-diff]
        setups:
          - {name: each, taps: each, strength: 8}
          - {name: early, taps: early, strength: 8, window: all}
          - {name: all-pca, method: pca-diff, taps: all, strength: 4, half: cond}
        prompts: {target: ["a house", "a car"], neutral: ["a bowl of fruit"]}
        metrics: {colour: red}
        """;
    static final int ITEMS = 6, ARMS = 12;

    @BeforeAll
    static void tinyModel() throws IOException {
        model = shared.resolve("model");
        RandomModel.write("tiny", model, 7, DType.F32, null);
    }

    private static Path experiment(Path dir, String yaml) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("pairs.jsonl"), """
            {"positive": "a red house", "negative": "a house"}
            {"positive": "a red car", "negative": "a car"}
            {"positive": "a red dog", "negative": "a dog"}
            {"positive": "a red tree in a field", "negative": "a tree in a field"}
            """);
        Path f = dir.resolve("study.yaml");
        Files.writeString(f, yaml.replace("model: model", "model: " + model.toAbsolutePath()));
        return f;
    }

    private static Study.Result run(Path file, Path out, ByteArrayOutputStream log) {
        return new Study(Experiment.read(file), OPS, new PrintStream(log, true, StandardCharsets.UTF_8)).run(out, Shard.ALL);
    }

    @Test
    void endToEndKilledResumedAndRefusingChangedSettings(@TempDir Path dir) throws Exception {
        Path file = experiment(dir, YAML), out = dir.resolve("run");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Study.Result r = run(file, out, log);
        assertEquals(ITEMS, r.progress().done());

        // the summary's contract: every setup with its name, taps and a finite effect; layer score vs effect
        JsonNode s = new ObjectMapper().readTree(r.summary().toFile());
        assertEquals(ARMS, s.get("setups").size());
        for (JsonNode a : s.get("setups")) {
            assertTrue(a.get("name").isTextual());
            assertTrue(a.get("taps").isArray() && !a.get("taps").isEmpty(), a.toString());
            for (String k : new String[] {"mean", "ci_low", "ci_high"}) assertTrue(Double.isFinite(a.at("/effect/" + k).asDouble(Double.NaN)) && a.at("/effect/" + k).isNumber(), a.toString());
            assertTrue(a.at("/effect/ci_low").asDouble() <= a.at("/effect/mean").asDouble() && a.at("/effect/mean").asDouble() <= a.at("/effect/ci_high").asDouble());
            assertEquals(4, a.at("/effect/n").asInt(), "2 target prompts × 2 seeds");
            assertEquals(2, a.at("/quality_cost/n").asInt(), "1 neutral prompt × 2 seeds");
        }
        assertEquals("each[unet.down_blocks.0.resnets.0]@8", s.at("/setups/0/name").asText());
        assertEquals(4, s.at("/setups/10/taps").size(), "early = the 4 down-block taps");
        assertEquals(10, s.at("/setups/11/taps").size());
        JsonNode c = s.get("layer_score_vs_effect");
        assertEquals(10, c.get("n").asInt());
        for (String k : new String[] {"spearman", "ci_low", "ci_high"}) assertTrue(c.get(k).isNumber() && Double.isFinite(c.get(k).asDouble()), c.toString());
        assertTrue(s.get("single_vs_multi").size() > 0 && s.get("layer_groups").size() > 0 && s.get("methods").size() == 2);
        // steering changed the images: some effect is not exactly zero
        boolean changed = false;
        for (JsonNode a : s.get("setups")) changed |= a.at("/effect/mean").asDouble() != 0;
        assertTrue(changed);

        // scores.jsonl: every item once, every arm in every line; the images on disk
        List<JsonNode> lines = lines(out);
        assertEquals(ITEMS, lines.size());
        for (JsonNode l : lines) assertEquals(ARMS + 1, l.get("arms").size());
        try (Stream<Path> imgs = Files.list(out.resolve("images"))) {
            assertEquals(ITEMS * (ARMS + 1), imgs.count());
        }
        String html = Files.readString(r.report());
        for (String h : new String[] {"1. Single tap vs several", "2. Early / middle / late", "3. Methods", "4. Layer score vs effect", "5. Every setup"})
            assertTrue(html.contains(h), h);
        chromium(r.report(), dir);

        // killed after two items, the third line half written: the rerun does the other four, each item once
        List<String> text = Files.readAllLines(out.resolve("scores.jsonl"));
        Files.writeString(out.resolve("scores.jsonl"), text.get(0) + "\n" + text.get(1) + "\n" + text.get(2).substring(0, 40));
        Files.delete(r.summary());
        ByteArrayOutputStream log2 = new ByteArrayOutputStream();
        Study.Result again = run(file, out, log2);
        assertEquals(2, again.progress().skipped());
        assertEquals(4, again.progress().done());
        assertFalse(log2.toString(StandardCharsets.UTF_8).contains("capturing"), "the vectors are read back, not captured again");
        Set<Integer> items = new HashSet<>();
        for (JsonNode l : lines(out)) assertTrue(items.add(l.get("item").asInt()), "item " + l.get("item") + " twice");
        assertEquals(ITEMS, items.size());
        JsonNode s2 = new ObjectMapper().readTree(again.summary().toFile());
        assertEquals(s.get("setups"), s2.get("setups"), "the same images and numbers after the resume");

        // any changed setting is refused, naming it
        String[][] changes = {
            {"window: all}", "window: 0-0}", "setups[1].window"},
            {"strength: 4,", "strength: 5,", "setups[2].strengths[0]"},
            {"half: cond}", "half: both}", "setups[2].half"},
            {"guidance: 7.5", "guidance: 5", "generation.guidance"},
            {"seeds_per_prompt: 2", "seeds_per_prompt: 3", "generation.seeds_per_prompt"},
            {"colour: red", "colour: blue", "metrics.colour.hue"},
            {"batch: 4", "batch: 2", "capture.batch"},
            {"methods: [mean-diff, pca-diff]", "methods: [mean-diff, pca-diff, lda]", "methods"},
            {"a bowl of fruit", "a bowl of pears", "prompts.neutral[0]"},
        };
        for (String[] ch : changes) {
            assertTrue(YAML.contains(ch[0]), ch[0]);
            Path f2 = experiment(dir.resolve("changed"), YAML.replace(ch[0], ch[1]));
            UserError e = assertThrows(UserError.class, () -> run(f2, out, new ByteArrayOutputStream()), ch[1]);
            assertTrue(e.getMessage().contains("different run") && e.getMessage().contains(ch[2]), e.getMessage());
        }
        Files.writeString(dir.resolve("pairs.jsonl"), "{\"positive\": \"a red boat\", \"negative\": \"a boat\"}\n", java.nio.file.StandardOpenOption.APPEND);
        UserError e = assertThrows(UserError.class, () -> run(file, out, new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("pairs[0].count"), e.getMessage());
    }

    /** Two shards merged give the same summary as one unsplit run; an unfinished split run is not summarised. */
    @Test
    void shardsMergeIntoTheSameSummary(@TempDir Path dir) throws Exception {
        String yaml = """
            model: model
            generation: {steps: 1, seed: 1, seeds_per_prompt: 2}
            pairs: pairs.jsonl
            capture: {taps: "unet.mid_block.resnets.?"}
            methods: mean-diff
            setups:
              - {name: each, taps: each, strength: 8}
              - {name: all, taps: all, strength: 4}
            prompts: {target: ["a house", "a car"]}
            metrics: {colour: green}
            """;
        Path file = experiment(dir, yaml);
        JsonNode whole = new ObjectMapper().readTree(run(file, dir.resolve("whole"), new ByteArrayOutputStream()).summary().toFile());
        Path split = dir.resolve("split");
        Study study = new Study(Experiment.read(file), OPS, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Study.Result r0 = study.run(split, new Shard(0, 2));
        assertNull(r0.summary(), "a shard writes no summary");
        assertEquals(2, r0.progress().done());
        UserError e = assertThrows(UserError.class, () -> study.merge(split));
        assertTrue(e.getMessage().contains("2 of 4 items are not scored yet"), e.getMessage());
        study.run(split, new Shard(1, 2));
        JsonNode merged = new ObjectMapper().readTree(study.merge(split).summary().toFile());
        assertEquals(whole.get("setups"), merged.get("setups"));
        assertEquals(whole.get("layer_score_vs_effect"), merged.get("layer_score_vs_effect"));
        assertEquals(4, lines(split).size());
    }

    private static List<JsonNode> lines(Path out) throws IOException {
        List<JsonNode> l = new ArrayList<>();
        for (String s : Files.readAllLines(out.resolve("scores.jsonl"))) if (!s.isBlank()) l.add(new ObjectMapper().readTree(s));
        return l;
    }

    /** Chromium, where installed, renders the report: its tables, plots and images, and no error page. */
    private static void chromium(Path html, Path tmp) throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        if (!Files.isExecutable(chromium)) return;
        List<String> cmd = List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--user-data-dir=" + Files.createTempDirectory(tmp, "chromium-profile"), "--dump-dom", html.toUri().toString());
        Path stdout = Files.createTempFile(tmp, "chromium", ".out"), stderr = Files.createTempFile(tmp, "chromium", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("chromium did not finish in 120 s");
        }
        assertEquals(0, p.exitValue(), Files.readString(stderr));
        String dom = Files.readString(stdout);
        assertEquals(6, count(dom, "<table"), "settings and five answer tables");
        assertEquals(4, count(dom, "<svg"), "strength curves, score vs effect, effect and score by tap");
        assertEquals(3 * (ARMS + 1) * 2, count(dom, "<img"), "3 prompts × 13 rows × 2 seeds");
        for (String bad : new String[] {"ERR_FILE_NOT_FOUND", "This site can", "parsererror"}) assertFalse(dom.contains(bad), bad);
    }

    private static int count(String s, String what) {
        Matcher m = Pattern.compile(Pattern.quote(what)).matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    /**
     * A setup's window, CFG half and operator reach the engine and change exactly what they should: watching the
     * steered tap itself (a capture registered after the plan sees the edited value), steps outside the window are
     * bit-identical to the baseline, the first steered step moves only the chosen half (by s·v for add), and ablate
     * leaves no component along v.
     */
    @Test
    void setupScheduleReachesTheEngine() {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        String tap = "unet.mid_block.resnets.0";
        int c = pipe.tapCatalog(64, 64).entry(tap).channels();
        float[] v = new float[c];
        SplittableRandom rng = new SplittableRandom(5);
        for (int j = 0; j < c; j++) v[j] = (float) rng.nextGaussian();
        SteeringFile file = new SteeringFile(Map.of(), Map.of(tap, new SteeringFile.TapVector(tap, new float[][] {v}, null)));
        GenerateRequest req = pipe.request("a house").steps(4).seed(11).build();

        Cache base = watch(pipe, req, null, tap);
        Cache cond = watch(pipe, req, arm(tap, Operator.ADD, 3f, "2-3", SteeringPlan.Half.COND, file), tap);
        Cache uncond = watch(pipe, req, arm(tap, Operator.ADD, 3f, "2-3", SteeringPlan.Half.UNCOND, file), tap);
        for (int step = 0; step < 2; step++)
            for (CfgHalf h : CfgHalf.values()) {
                assertArrayEquals(base.get(tap, step, h).data(), cond.get(tap, step, h).data(), "step " + step + " is outside the window");
                assertArrayEquals(base.get(tap, step, h).data(), uncond.get(tap, step, h).data());
            }
        // step 2: the first steered step, same input as the baseline; only the chosen half moves, by 3·v (spatial mean)
        assertArrayEquals(base.get(tap, 2, CfgHalf.UNCOND).data(), cond.get(tap, 2, CfgHalf.UNCOND).data(), "half cond leaves uncond rows alone");
        assertArrayEquals(base.get(tap, 2, CfgHalf.COND).data(), uncond.get(tap, 2, CfgHalf.COND).data(), "half uncond leaves cond rows alone");
        float[] b = base.get(tap, 2, CfgHalf.COND).data(), sc = cond.get(tap, 2, CfgHalf.COND).data(), su = uncond.get(tap, 2, CfgHalf.UNCOND).data(),
            bu = base.get(tap, 2, CfgHalf.UNCOND).data();
        for (int j = 0; j < c; j++) {
            assertEquals(b[j] + 3 * v[j], sc[j], 1e-4 * (1 + Math.abs(b[j])), "add 3·v on the cond half, channel " + j);
            assertEquals(bu[j] + 3 * v[j], su[j], 1e-4 * (1 + Math.abs(bu[j])), "add 3·v on the uncond half, channel " + j);
        }
        // ablate at 1 over both halves: no component along v is left (spatial mean of a per-token projection out)
        Cache abl = watch(pipe, req, arm(tap, Operator.ABLATE, 1f, "all", SteeringPlan.Half.BOTH, file), tap);
        double vv = 0, dot = 0, norm = 0;
        float[] a0 = abl.get(tap, 0, CfgHalf.COND).data(), b0 = base.get(tap, 0, CfgHalf.COND).data();
        for (int j = 0; j < c; j++) {
            vv += v[j] * v[j];
            dot += a0[j] * v[j];
            norm += b0[j] * v[j];
        }
        assertTrue(Math.abs(dot) / Math.sqrt(vv) < 1e-4 * Math.abs(norm) / Math.sqrt(vv) + 1e-5, "ablated: " + dot + " (baseline " + norm + ")");
        assertTrue(Math.abs(norm) > 1e-3, "the baseline has a component to remove");
    }

    /**
     * A setup's token selection reaches the text encoder through the pipeline: with tokens eos, each prompt's row of a
     * text-encoder tap moves by 3·v at one position (its EOS, found from the row's own token ids), nowhere else.
     */
    @Test
    void setupTokenSelectionReachesTheTextEncoder() throws IOException {
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        String tap = "text_encoder.text_model.encoder.layers.0";
        int c = pipe.tapCatalog(64, 64).entry(tap).channels();
        float[] v = new float[c];
        SplittableRandom rng = new SplittableRandom(6);
        for (int j = 0; j < c; j++) v[j] = (float) rng.nextGaussian();
        SteeringFile file = new SteeringFile(Map.of(), Map.of(tap, new SteeringFile.TapVector(tap, new float[][] {v}, null)));
        GenerateRequest req = pipe.request("a red house on a hill").steps(1).seed(11).build();
        Experiment.Setup setup = new Experiment.Setup("t", Method.MEAN_DIFF, Experiment.Scope.TAP, List.of(tap), null, 0, Operator.ADD, List.of(3f),
            StepSet.ALL, SteeringPlan.Half.BOTH, false, dev.stitch.steering.TokenSelection.parse("eos"));
        SteeringPlan plan = Study.plan(new Arm("s000", "t@3", setup, List.of(tap), 3f), file);
        Cache base = watchAll(pipe, req, null, tap), eos = watchAll(pipe, req, plan, tap);
        for (CfgHalf h : CfgHalf.values()) {
            var key = base.keys().stream().filter(k -> k.tap().equals(tap) && k.half() == h).findFirst().orElseThrow();
            float[] b = base.get(key).data(), s = eos.get(key).data();
            int l = base.get(key).shape()[1];
            List<Integer> moved = new ArrayList<>();
            for (int p = 0; p < l; p++) {
                boolean differs = false;
                for (int j = 0; j < c; j++) differs |= b[p * c + j] != s[p * c + j];
                if (!differs) continue;
                moved.add(p);
                for (int j = 0; j < c; j++) assertEquals(b[p * c + j] + 3 * v[j], s[p * c + j], 1e-4 * (1 + Math.abs(b[p * c + j])), h + " position " + p);
            }
            assertEquals(1, moved.size(), h + ": one position (EOS) moved: " + moved);
            if (h == CfgHalf.UNCOND) assertEquals(List.of(1), moved, "the empty prompt's EOS follows BOS");
            else assertTrue(moved.get(0) > 2, "the prompt's EOS follows its words: " + moved);
        }
        UserError e = assertThrows(UserError.class, () -> read("""
            model: model
            generation: {steps: 2}
            pairs: pairs.jsonl
            methods: [mean-diff]
            setups: [{name: a, taps: all, strength: 1, tokens: first}]
            prompts: {target: ["a"]}
            metrics: {colour: red}
            """));
        assertTrue(e.getMessage().contains("setups[0].tokens: expected all, last, eos or token positions"), e.getMessage());
    }

    private Experiment read(String yaml) throws IOException { return Experiment.read(experiment(shared.resolve("tokens"), yaml)); }

    private static Cache watchAll(StableDiffusionPipeline pipe, GenerateRequest req, SteeringPlan plan, String tap) {
        HookedTaps taps = new HookedTaps(OPS);
        Cache cache = new Cache();
        try (SteeringPlan.Registered reg = plan == null ? () -> {} : plan.register(taps);
             var cap = taps.register(tap, cache.capture(Reduction.NONE))) {
            pipe.generate(req, OPS, taps, StableDiffusionPipeline.Progress.NONE);
        }
        return cache;
    }

    private static SteeringPlan arm(String tap, Operator op, float s, String window, SteeringPlan.Half half, SteeringFile file) {
        Experiment.Setup setup = new Experiment.Setup("t", Method.MEAN_DIFF, Experiment.Scope.TAP, List.of(tap), null, 0, op, List.of(s),
            StepSet.parse(window), half, false, null);
        return Study.plan(new Arm("s000", "t@" + s, setup, List.of(tap), s), file);
    }

    private static Cache watch(StableDiffusionPipeline pipe, GenerateRequest req, SteeringPlan plan, String tap) {
        HookedTaps taps = new HookedTaps(OPS);
        Cache cache = new Cache();
        try (SteeringPlan.Registered reg = plan == null ? () -> {} : plan.register(taps);
             var cap = taps.register(tap, cache.capture(Reduction.MEAN))) {
            pipe.generate(req, OPS, taps, StableDiffusionPipeline.Progress.NONE);
        }
        return cache;
    }
}
