package dev.stitch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.ScoresFile;
import dev.stitch.kernels.DType;
import dev.stitch.steering.SteeringFile;
import dev.stitch.engine.image.RgbImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code stitch eval} end to end on the tiny random model, a tiny random CLIP and a local judge server. */
class EvalCommandTest {
    @TempDir static Path shared;
    static Path model, clip, steer, prompts;
    static HttpServer server;
    static final AtomicInteger judgeCalls = new AtomicInteger();
    static volatile long judgeDelayMs;
    static volatile boolean judgeDown;   // the judge answers 401 to everything

    @BeforeAll
    static void setUp() throws IOException {
        model = shared.resolve("tiny");
        RandomModel.write("tiny", model, 0, DType.F32, null);
        clip = tinyClip(shared.resolve("clip"), model.resolve("tokenizer"));
        // a steering vector on one tap of the UNet, at the tap's channel count
        TapCatalog catalog = StableDiffusionPipeline.load(model).tapCatalog(64, 64);
        TapCatalog.Entry e = catalog.entries().stream().filter(x -> x.name().equals("unet.mid_block")).findFirst()
            .orElse(catalog.entries().stream().filter(x -> x.name().startsWith("unet.")).findFirst().orElseThrow());
        float[] v = new float[e.channels()];
        Random r = new Random(3);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        steer = shared.resolve("cat.safetensors");
        new SteeringFile(Map.of(), Map.of(e.name(), new SteeringFile.TapVector(e.name(), new float[][] {v}, null))).write(steer);
        prompts = shared.resolve("prompts.jsonl");
        Files.writeString(prompts, """
            {"prompt": "a red cube", "category": "shapes"}
            {"prompt": "a cat on a mat", "seed": 42, "guidance": 5.0, "category": "animals"}
            {"prompt": "a blue sphere", "category": "shapes"}
            """);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/v1/chat/completions", ex -> {
            try (ex) {
                String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                if (judgeDelayMs > 0) Thread.sleep(judgeDelayMs);
                if (judgeDown) {
                    byte[] b = "{\"error\": \"no\"}".getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(401, b.length);
                    ex.getResponseBody().write(b);
                    return;
                }
                int n = judgeCalls.incrementAndGet();
                if (body.contains("\"required\":[\"score\"]")) replyContent(ex, "{\"score\": " + (n * 37 % 101) + "}");
                else reply(ex, n % 2 == 0 ? "yes" : "no");
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    @AfterAll
    static void tearDown() { server.stop(0); }

    static void reply(HttpExchange ex, String answer) throws IOException { replyContent(ex, "{\"answer\": \"" + answer + "\"}"); }

    static void replyContent(HttpExchange ex, String content) throws IOException {
        ObjectNode o = Jsonl.JSON.createObjectNode().put("id", "x").put("object", "chat.completion");
        ObjectNode m = o.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop").putObject("message");
        m.put("role", "assistant").put("content", content);
        byte[] b = o.toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    /** A transformers CLIPModel folder with one layer per tower, random weights, and the SD model's tokenizer files. */
    static Path tinyClip(Path dir, Path tokenizer) throws IOException {
        Files.createDirectories(dir);
        for (String f : new String[] {"vocab.json", "merges.txt"}) Files.copy(tokenizer.resolve(f), dir.resolve(f));
        int vocab = 0;
        for (JsonNode id : Jsonl.JSON.readTree(dir.resolve("vocab.json").toFile())) vocab = Math.max(vocab, id.asInt() + 1);
        int tw = 32, vw = 32, proj = 16, img = 32, patch = 8;
        Files.writeString(dir.resolve("config.json"), """
            {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": %d, "logit_scale_init_value": 2.6592,
             "text_config": {"vocab_size": %d, "hidden_size": %d, "intermediate_size": 48, "num_hidden_layers": 1,
               "num_attention_heads": 2, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "eos_token_id": 2},
             "vision_config": {"hidden_size": %d, "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 2,
               "num_channels": 3, "image_size": %d, "patch_size": %d, "hidden_act": "quick_gelu"}}
            """.formatted(proj, vocab, tw, vw, img, patch));
        Files.writeString(dir.resolve("preprocessor_config.json"), """
            {"crop_size": %d, "do_center_crop": true, "do_normalize": true, "do_resize": true, "resample": 3, "size": %d,
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}
            """.formatted(img, img));
        Random r = new Random(7);
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.addF32("logit_scale", new float[] {2.6592f}, 1);
        w.addF32("text_model.embeddings.token_embedding.weight", gauss(r, vocab * tw), vocab, tw);
        w.addF32("text_model.embeddings.position_embedding.weight", gauss(r, 77 * tw), 77, tw);
        layer(w, r, "text_model.encoder.layers.0.", tw, 48);
        norm(w, "text_model.final_layer_norm", tw);
        w.addF32("text_projection.weight", gauss(r, proj * tw), proj, tw);
        int tokens = (img / patch) * (img / patch) + 1;
        w.addF32("vision_model.embeddings.class_embedding", gauss(r, vw), vw);
        w.addF32("vision_model.embeddings.patch_embedding.weight", gauss(r, vw * 3 * patch * patch), vw, 3, patch, patch);
        w.addF32("vision_model.embeddings.position_embedding.weight", gauss(r, tokens * vw), tokens, vw);
        norm(w, "vision_model.pre_layrnorm", vw);
        layer(w, r, "vision_model.encoder.layers.0.", vw, 48);
        norm(w, "vision_model.post_layernorm", vw);
        w.addF32("visual_projection.weight", gauss(r, proj * vw), proj, vw);
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    static void layer(SafeTensorsWriter w, Random r, String p, int d, int inner) {
        norm(w, p + "layer_norm1", d);
        norm(w, p + "layer_norm2", d);
        for (String k : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
            w.addF32(p + "self_attn." + k + ".weight", gauss(r, d * d), d, d);
            w.addF32(p + "self_attn." + k + ".bias", gauss(r, d), d);
        }
        w.addF32(p + "mlp.fc1.weight", gauss(r, inner * d), inner, d);
        w.addF32(p + "mlp.fc1.bias", gauss(r, inner), inner);
        w.addF32(p + "mlp.fc2.weight", gauss(r, d * inner), d, inner);
        w.addF32(p + "mlp.fc2.bias", gauss(r, d), d);
    }

    static void norm(SafeTensorsWriter w, String p, int d) {
        float[] one = new float[d];
        Arrays.fill(one, 1f);
        w.addF32(p + ".weight", one, d);
        w.addF32(p + ".bias", new float[d], d);
    }

    static float[] gauss(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.2 * r.nextGaussian());
        return x;
    }

    /** The flags every run here shares: 3 prompts × 1 image, 2 steps, 64×64, clip + probe + judge, one steered setup. */
    static List<String> args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", model.toString(), "--prompts", prompts.toString(),
            "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu",
            "--metrics", "clip,probe,judge", "--clip", clip.toString(), "--probe-concept", "a cat",
            "--judge-url", "http://127.0.0.1:" + server.getAddress().getPort() + "/v1", "--judge-model", "tiny-judge", "--judge-key-env=",
            "--steer", steer + "@4", "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    static CliRunner.Result eval(List<String> args) { return CliRunner.run(args.toArray(String[]::new)); }

    static List<ObjectNode> scores(Path run) { return new ArrayList<>(ScoresFile.read(run.resolve("scores.jsonl")).lines().values()); }

    @Test
    void smallRunWritesScoresReportAndSummaryAndARerunDoesNothingNew(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner.Result r = eval(args(run));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("eval: 3/3 done"), r.err());
        List<ObjectNode> lines = scores(run);
        assertEquals(3, lines.size());
        assertEquals(3, Files.readAllLines(run.resolve("scores.jsonl")).size());
        for (int i = 0; i < 3; i++) {
            ObjectNode l = lines.get(i);
            assertEquals(i, l.get("item").asInt());
            assertEquals(i, l.get("prompt_index").asInt());
            JsonNode setups = l.get("setups");
            assertEquals(2, setups.size());
            assertEquals("baseline", setups.get(0).get("setup").asText());
            assertEquals("cat.safetensors@4.0", setups.get(1).get("setup").asText());
            for (JsonNode s : setups) {
                assertTrue(Files.isRegularFile(run.resolve(s.get("file").asText())), s.toString());
                double clipScore = s.get("clip").asDouble(), probe = s.get("probe").asDouble();
                assertTrue(Double.isFinite(clipScore) && clipScore >= 0 && clipScore <= 100, s.toString());
                assertTrue(probe > 0 && probe < 1, s.toString());
                assertTrue(List.of("yes", "no").contains(s.get("judge").asText()), s.toString());
            }
            // same seed, different steering: the images differ
            assertFalse(Arrays.equals(Files.readAllBytes(run.resolve(setups.get(0).get("file").asText())),
                Files.readAllBytes(run.resolve(setups.get(1).get("file").asText()))), "steering changed nothing");
        }
        assertEquals(42, lines.get(1).get("seed").asLong(), "the prompt set's seed is used");
        assertEquals(5.0, lines.get(1).get("guidance").asDouble(), "the prompt set's guidance is used");
        assertEquals(2, lines.get(2).get("seed").asLong(), "no seed in the set: --seed (0) + position");

        JsonNode run_json = Jsonl.JSON.readTree(run.resolve("run.json").toFile());
        assertEquals(dev.stitch.eval.run.Evaluation.sha256(prompts), run_json.get("prompts_sha256").asText());
        JsonNode summary = Jsonl.JSON.readTree(run.resolve("summary.json").toFile());
        assertEquals(3, summary.get("items_done").asInt());
        JsonNode base = summary.get("setups").get("baseline");
        double mean = lines.stream().mapToDouble(l -> l.get("setups").get(0).get("clip").asDouble()).average().orElseThrow();
        assertEquals(mean, base.get("clip").get("mean").asDouble(), 1e-9);
        assertEquals(3, base.get("judge").get("share").get("n").asInt());
        assertTrue(summary.get("setups").has("cat.safetensors@4.0"));
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.contains("a cat on a mat") && html.contains("Metrics by setup") && html.contains("<svg"), "report content");
        assertTrue(Files.exists(run.resolve("judge-audit.jsonl")));

        // a rerun finds everything done: no generation, no judge call, the scores untouched
        byte[] before = Files.readAllBytes(run.resolve("scores.jsonl"));
        int calls = judgeCalls.get();
        CliRunner.Result again = eval(args(run));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("3 done earlier, 0 to do"), again.err());
        assertEquals(calls, judgeCalls.get());
        assertTrue(Arrays.equals(before, Files.readAllBytes(run.resolve("scores.jsonl"))));

        // an edited prompt file (same number of prompts) is caught by its hash
        Path edited = tmp.resolve("prompts.jsonl");
        Files.writeString(edited, Files.readString(prompts).replace("red", "green"));
        List<String> a = args(run);
        a.set(a.indexOf(prompts.toString()), edited.toString());
        CliRunner.Result changed = eval(a);
        assertEquals(2, changed.code());
        assertTrue(changed.err().contains("prompts_sha256"), changed.err());
        assertEquals(1, changed.err().strip().lines().count(), changed.err());
    }

    @Test
    void twoShardsMergedEqualTheUnshardedRun(@TempDir Path tmp) throws IOException {
        Path whole = tmp.resolve("whole"), sharded = tmp.resolve("sharded");
        assertEquals(0, eval(lean(whole)).code());
        for (String k : new String[] {"0/2", "1/2"}) {
            List<String> a = lean(sharded);
            a.addAll(List.of("--shard", k));
            CliRunner.Result r = eval(a);
            assertEquals(0, r.code(), r.err());
        }
        assertEquals(2, scores(sharded.resolve("shard-0-of-2")).size());
        assertEquals(1, scores(sharded.resolve("shard-1-of-2")).size());
        CliRunner.Result m = CliRunner.run("eval-merge", sharded.toString());
        assertEquals(0, m.code(), m.err());
        assertTrue(m.err().contains("3 of 3 items"), m.err());
        List<ObjectNode> a = scores(whole), b = scores(sharded);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            // the same images and scores, up to rounding: the CPU kernels' first calls in a JVM (before the JIT compiles
            // the vector code) can round differently from later ones
            ObjectNode sa = (ObjectNode) a.get(i).get("setups").get(0), sb = (ObjectNode) b.get(i).get("setups").get(0);
            assertEquals(sa.remove("clip").asDouble(), sb.remove("clip").asDouble(), 1e-2, "item " + i);
            assertEquals(a.get(i), b.get(i));
            String f = sa.get("file").asText();
            byte[] pa = Png.read(whole.resolve(f)).rgb(), pb = Png.read(sharded.resolve(f)).rgb();
            int maxDiff = 0;
            for (int k = 0; k < pa.length; k++) maxDiff = Math.max(maxDiff, Math.abs((pa[k] & 0xff) - (pb[k] & 0xff)));
            assertTrue(maxDiff <= 2, f + ": pixels differ by up to " + maxDiff);
        }
        assertTrue(Files.isRegularFile(sharded.resolve("report.html")));
        assertEquals(3, Jsonl.JSON.readTree(sharded.resolve("summary.json").toFile()).get("items_done").asInt());
    }

    /** Clip only, no steering, no judge: the cheapest run. */
    static List<String> lean(Path out) { return lean(out, prompts); }

    static List<String> lean(Path out, Path promptFile) {
        return new ArrayList<>(List.of("eval", "--model", model.toString(), "--prompts", promptFile.toString(),
            "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu", "--metrics", "clip", "--clip", clip.toString(),
            "--out", out.toString()));
    }

    /** Every part of a setup's schedule is in run.json: a resume with another one is refused, naming it, never mixed. */
    @Test
    void aResumeWithAnotherSteeringScheduleIsRefused(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        List<String> first = lean(run);
        first.addAll(List.of("--limit", "1", "--steer", steer + "@4"));
        CliRunner.Result r = eval(first);
        assertEquals(0, r.code(), r.err());
        String png;
        try {
            png = new String(Files.readAllBytes(run.resolve("images/000000-steer1.png")), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertTrue(png.contains("steering\0" + steer.getFileName() + ": add at 4.0 on "), "the steered image says how it was steered");
        String[][] changes = {{"--steer-op", "ablate", "operator"}, {"--steer-window", "0", "window"},
            {"--steer-half", "cond", "half"}, {"--steer-preserve-norm", null, "preserve_norm"},
            {"--steer-tap", "unet.mid_block=2", "tap_strengths"}};
        for (String[] c : changes) {
            List<String> again = new ArrayList<>(first);
            again.add(c[0]);
            if (c[1] != null) again.add(c[1]);
            CliRunner.Result refused = eval(again);
            assertEquals(2, refused.code(), c[0] + ": " + refused.err());
            assertTrue(refused.err().contains("different run") && refused.err().contains(c[2]), c[0] + ": " + refused.err());
        }
        assertEquals(1, scores(run).size());
    }

    /**
     * Two --setup entries on one file with different taps, windows, halves and operators: each setup's image is the
     * image `stitch generate` makes with that schedule as global flags, and not the other setup's.
     */
    @Test
    void perSetupSchedulesReachTheEngine(@TempDir Path tmp) throws IOException {
        TapCatalog catalog = StableDiffusionPipeline.load(model).tapCatalog(64, 64);
        String down = "unet.down_blocks.0.resnets.0", up = "unet.up_blocks.1.resnets.0";
        assertTrue(catalog.contains(down) && catalog.contains(up));
        Random r = new Random(11);
        Map<String, SteeringFile.TapVector> taps = new java.util.LinkedHashMap<>();
        for (String t : List.of(down, up)) {
            float[] v = new float[catalog.entry(t).channels()];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            taps.put(t, new SteeringFile.TapVector(t, new float[][] {v}, null));
        }
        Path two = tmp.resolve("two.safetensors");
        new SteeringFile(Map.of(), taps).write(two);
        Path run = tmp.resolve("run");
        List<String> a = lean(run);
        a.addAll(List.of("--limit", "1", "--setup", "name=early,file=" + two + ",strength=30,window=0,half=cond,taps=unet.down_blocks.*",
            "--setup", "name=late,file=" + two + ",strength=30,op=clamp,window=0,taps=" + up + ",preserve-norm=true"));
        CliRunner.Result res = eval(a);
        assertEquals(0, res.code(), res.err());
        JsonNode setups = scores(run).getFirst().get("setups");
        assertEquals(List.of("baseline", "early", "late"), List.of(setups.get(0).get("setup").asText(), setups.get(1).get("setup").asText(),
            setups.get(2).get("setup").asText()));
        JsonNode recorded = Jsonl.JSON.readTree(run.resolve("run.json").toFile()).get("setups");
        assertEquals("0", recorded.get(1).get("window").asText());
        assertEquals("both", recorded.get(2).get("half").asText());
        assertEquals("cond", recorded.get(1).get("half").asText());
        assertEquals(List.of(down), List.of(recorded.get(1).get("taps").get(0).asText()));
        assertEquals(1, recorded.get(1).get("taps").size());
        assertEquals("clamp", recorded.get(2).get("operator").asText());
        assertTrue(recorded.get(2).get("preserve_norm").asBoolean());

        // the same schedules as global flags of single generate runs, the other tap at strength 0
        Path early = generate(tmp.resolve("early.png"), "--steer", two + "@30", "--steer-window", "0", "--steer-half", "cond", "--steer-tap", up + "=0");
        Path late = generate(tmp.resolve("late.png"), "--steer", two + "@30", "--steer-op", "clamp", "--steer-window", "0",
            "--steer-preserve-norm", "--steer-tap", down + "=0");
        Path earlyBoth = generate(tmp.resolve("early-both.png"), "--steer", two + "@30", "--steer-window", "0", "--steer-tap", up + "=0");
        Path earlyLater = generate(tmp.resolve("early-later.png"), "--steer", two + "@30", "--steer-window", "1", "--steer-half", "cond",
            "--steer-tap", up + "=0");
        byte[] e = Png.read(run.resolve(setups.get(1).get("file").asText())).rgb(), l = Png.read(run.resolve(setups.get(2).get("file").asText())).rgb();
        byte[] b = Png.read(run.resolve(setups.get(0).get("file").asText())).rgb();
        assertTrue(maxDiff(e, Png.read(early).rgb()) <= 2, "setup 'early' is the single run with its schedule");
        assertTrue(maxDiff(l, Png.read(late).rgb()) <= 2, "setup 'late' is the single run with its schedule");
        assertTrue(maxDiff(e, l) > 8, "the two setups differ");
        assertTrue(maxDiff(e, b) > 8 && maxDiff(l, b) > 8, "each setup steers: " + maxDiff(e, b) + ", " + maxDiff(l, b) + ", " + maxDiff(e, l));
        assertTrue(maxDiff(e, Png.read(earlyBoth).rgb()) > 8, "the half reached the engine: steering both halves differs");
        assertTrue(maxDiff(e, Png.read(earlyLater).rgb()) > 8, "the window reached the engine: steering step 1 differs");

        // a resume with one setup's window changed is refused, naming it
        List<String> changed = new ArrayList<>(a);
        changed.set(changed.size() - 1, changed.getLast().replace("window=0", "window=1"));
        CliRunner.Result refused = eval(changed);
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().contains("different run (setups[2].window: \"0\" vs \"1\")"), refused.err());
    }

    /** An images-only run scored later is the run that scored as it generated: same run.json (but its origin), same lines. */
    @Test
    void anImagesOnlyRunScoredLaterIsTheRunThatScoredAsItWent(@TempDir Path tmp) throws IOException {
        Path direct = tmp.resolve("direct"), images = tmp.resolve("images");
        List<String> d = args(direct, "--limit", "2");
        assertEquals(0, eval(d).code());
        List<String> n = args(images, "--limit", "2");
        n.set(n.indexOf("clip,probe,judge"), "none");
        CliRunner.Result made = eval(n);
        assertEquals(0, made.code(), made.err());
        for (ObjectNode l : scores(images))
            for (JsonNode s : l.get("setups")) assertEquals(List.of("setup", "file"), iterable(s.fieldNames()), "images only: " + s);
        assertEquals(0, Jsonl.JSON.readTree(images.resolve("run.json").toFile()).get("metrics").size());

        List<String> score = new ArrayList<>(List.of("score", images.toString()));
        score.addAll(d.subList(d.indexOf("--metrics"), d.indexOf("--steer")));
        CliRunner.Result r = CliRunner.run(score.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Path scored = images.resolve("scored");
        ObjectNode want = (ObjectNode) Jsonl.JSON.readTree(direct.resolve("run.json").toFile());
        ObjectNode got = (ObjectNode) Jsonl.JSON.readTree(scored.resolve("run.json").toFile());
        assertEquals("images", got.remove("images_from").asText());
        assertEquals(want, got);
        List<ObjectNode> a = scores(direct), b = scores(scored);
        assertEquals(2, b.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(a.get(i).get("seed"), b.get(i).get("seed"));
            for (int k = 0; k < 2; k++) {
                JsonNode x = a.get(i).get("setups").get(k), y = b.get(i).get("setups").get(k);
                assertEquals(iterable(x.fieldNames()), iterable(y.fieldNames()));
                assertEquals(x.get("clip").asDouble(), y.get("clip").asDouble(), 0.5, "item " + i);
                assertTrue(Files.isRegularFile(scored.resolve(y.get("file").asText())));
            }
        }
        assertTrue(Files.isRegularFile(scored.resolve("summary.json")) && Files.isRegularFile(scored.resolve("report.html")));
        assertTrue(Files.isRegularFile(scored.resolve("judge-audit.jsonl")));

        // resumable: a cut-off scoring is finished, each item once; a second scoring with other settings is refused
        List<String> lines = Files.readAllLines(scored.resolve("scores.jsonl"));
        Files.writeString(scored.resolve("scores.jsonl"), lines.getFirst() + "\n" + lines.get(1).substring(0, 20));
        CliRunner.Result again = CliRunner.run(score.toArray(String[]::new));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("1 done earlier, 1 to do"), again.err());
        assertEquals(2, Files.readAllLines(scored.resolve("scores.jsonl")).size());
        List<String> other = new ArrayList<>(score);
        other.set(other.indexOf("clip,probe,judge"), "clip");
        CliRunner.Result refused = CliRunner.run(other.toArray(String[]::new));
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().contains("was written for a different run (judge: "), refused.err());

        // what cannot be scored
        CliRunner.Result notImagesOnly = CliRunner.run("score", direct.toString(), "--metrics", "clip", "--clip", clip.toString());
        assertEquals(2, notImagesOnly.code());
        assertTrue(notImagesOnly.err().contains("not an images-only run"), notImagesOnly.err());
        CliRunner.Result noneAndMore = eval(lean(tmp.resolve("x")).stream().map(x -> x.equals("clip") ? "none,clip" : x).toList());
        assertEquals(2, noneAndMore.code());
        assertTrue(noneAndMore.err().contains("--metrics none,clip: none (images only) goes alone"), noneAndMore.err());
        CliRunner.Result noMetric = CliRunner.run("score", images.toString(), "--metrics", "none");
        assertEquals(2, noMetric.code());
        assertTrue(noMetric.err().contains("--metrics none: expected any of clip"), noMetric.err());
    }

    static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    /** --judge-answer score asks for 0–100; the lines carry the scores, the summary their mean with an interval. */
    @Test
    void theJudgeCanScoreFrom0To100(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        List<String> a = args(run, "--limit", "2", "--judge-answer", "score");
        a.set(a.indexOf("clip,probe,judge"), "judge");
        CliRunner.Result r = eval(a);
        assertEquals(0, r.code(), r.err());
        JsonNode runJson = Jsonl.JSON.readTree(run.resolve("run.json").toFile());
        assertEquals("score", runJson.get("judge_answer").asText());
        assertEquals("How much does this image show a cat, on a scale from 0 to 100?", runJson.get("judge_question").asText());
        List<Double> baseline = new ArrayList<>();
        for (ObjectNode l : scores(run)) {
            for (JsonNode s : l.get("setups")) {
                int score = s.get("judge_score").asInt(-1);
                assertTrue(s.get("judge_score").isInt() && score >= 0 && score <= 100 && !s.has("judge"), s.toString());
            }
            baseline.add(l.get("setups").get(0).get("judge_score").asDouble());
        }
        JsonNode judge = Jsonl.JSON.readTree(run.resolve("summary.json").toFile()).get("setups").get("baseline").get("judge");
        assertEquals((baseline.get(0) + baseline.get(1)) / 2, judge.get("score").get("mean").asDouble(), 1e-9);
        assertEquals(2, judge.get("score").get("n").asInt());
        assertTrue(judge.get("score").get("low").asDouble() <= judge.get("score").get("mean").asDouble());
        assertTrue(Files.readString(run.resolve("report.html")).contains("judge score (0–100)"));

        List<String> bad = lean(tmp.resolve("bad"));
        bad.addAll(List.of("--judge-answer", "maybe"));
        CliRunner.Result refused = eval(bad);
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("--judge-answer maybe: expected yes-no or score"), refused.err());
    }

    /** --prompt-sizes makes each prompt at its prompt set's image size (I2P's sd_image_width/height), recorded in run.json. */
    @Test
    void promptSizesMakeEachPromptAtItsOwnSize(@TempDir Path tmp) throws IOException {
        Path csv = tmp.resolve("sized.csv");
        Files.writeString(csv, "prompt,sd_image_width,sd_image_height\na red cube,64,48\na cat,48,64\n");
        Path run = tmp.resolve("run");
        List<String> a = lean(run, csv);
        a.add("--prompt-sizes");
        CliRunner.Result r = eval(a);
        assertEquals(0, r.code(), r.err());
        List<ObjectNode> lines = scores(run);
        int[][] sizes = {{64, 48}, {48, 64}};
        for (int i = 0; i < 2; i++) {
            RgbImage img = Png.read(run.resolve(lines.get(i).get("setups").get(0).get("file").asText()));
            assertEquals(sizes[i][0], img.width());
            assertEquals(sizes[i][1], img.height());
            assertEquals(sizes[i][0], lines.get(i).get("width").asInt());
            assertEquals(sizes[i][1], lines.get(i).get("height").asInt());
        }
        assertTrue(Jsonl.JSON.readTree(run.resolve("run.json").toFile()).get("prompt_sizes").asBoolean());

        // without the flag, the run's size; a resume that adds the flag is refused
        Path plain = tmp.resolve("plain");
        List<String> b = new ArrayList<>(a);
        b.remove("--prompt-sizes");
        b.set(b.indexOf(run.toString()), plain.toString());
        assertEquals(0, eval(b).code());
        assertEquals(64, Png.read(plain.resolve(scores(plain).get(0).get("setups").get(0).get("file").asText())).height());
        List<String> c = new ArrayList<>(b);
        c.add("--prompt-sizes");
        CliRunner.Result refused = eval(c);
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("different run (prompt_sizes: absent vs true)"), refused.err());

        // a size that is no multiple of 8, and a set without sizes: refused before anything is written
        Files.writeString(csv, "prompt,sd_image_width,sd_image_height\na red cube,60,48\n");
        List<String> bad = new ArrayList<>(a);
        bad.set(bad.indexOf(run.toString()), tmp.resolve("bad").toString());
        refusedBeforeAnythingIsWritten(bad, tmp.resolve("bad"), "--prompt-sizes", "prompt 0 asks for 60x48, expected multiples of 8");
        List<String> d = lean(tmp.resolve("none"));
        d.add("--prompt-sizes");
        refusedBeforeAnythingIsWritten(d, tmp.resolve("none"), "--prompt-sizes", "gives no image sizes");
    }

    /** An explicit --guidance wins over a prompt set's guidance column (SD-Turbo at 0 on I2P); without it the column does. */
    @Test
    void anExplicitGuidanceWinsOverThePromptSetsColumn(@TempDir Path tmp) throws IOException {
        Path csv = tmp.resolve("guided.csv");
        Files.writeString(csv, "prompt,evaluation_seed,evaluation_guidance\na red cube,0,7.5\na cat,5,5\n");
        Path run = tmp.resolve("run");
        List<String> a = lean(run, csv);
        assertEquals(0, eval(a).code());
        assertEquals(List.of(7.5, 5.0), scores(run).stream().map(l -> l.get("guidance").asDouble()).toList(), "the set's own guidance");
        assertFalse(Jsonl.JSON.readTree(run.resolve("run.json").toFile()).has("fixed_guidance"));

        Path fixed = tmp.resolve("fixed");
        List<String> b = new ArrayList<>(a);
        b.set(b.indexOf(run.toString()), fixed.toString());
        b.addAll(List.of("--guidance", "0"));
        CliRunner.Result r = eval(b);
        assertEquals(0, r.code(), r.err());
        List<ObjectNode> lines = scores(fixed);
        assertEquals(List.of(0.0, 0.0), lines.stream().map(l -> l.get("guidance").asDouble()).toList(), "--guidance for every prompt");
        assertTrue(Jsonl.JSON.readTree(fixed.resolve("run.json").toFile()).get("fixed_guidance").asBoolean());
        // the first image is the single generate run at guidance 0 (one conditional pass), not at the set's 7.5
        Path single = generate(tmp.resolve("single.png"), "--guidance", "0");
        byte[] img = Png.read(fixed.resolve(lines.get(0).get("setups").get(0).get("file").asText())).rgb();
        assertTrue(maxDiff(img, Png.read(single).rgb()) <= 2, "eval's image is generate --guidance 0");
        assertTrue(maxDiff(img, Png.read(run.resolve(scores(run).get(0).get("setups").get(0).get("file").asText())).rgb()) > 8,
            "guidance 0 and 7.5 draw different images");

        // resuming the fixed run without the flag would mix guidances: refused
        List<String> c = new ArrayList<>(b);
        c.subList(c.size() - 2, c.size()).clear();
        CliRunner.Result refused = eval(c);
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("fixed_guidance"), refused.err());
        String help = CliRunner.run("eval", "--help").out();
        help = help.substring(help.indexOf("--guidance=G "));
        help = help.substring(0, help.indexOf("\n      --")).replaceAll("\\s+", " ");
        assertTrue(help.contains("of every prompt, over the prompt set's own"), help);
    }

    static Path generate(Path out, String... steer) {
        List<String> g = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "a red cube", "--seed", "0",
            "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu", "--out", out.toString()));
        g.addAll(List.of(steer));
        CliRunner.Result r = CliRunner.run(g.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return out;
    }

    static int maxDiff(byte[] x, byte[] y) {
        assertEquals(x.length, y.length);
        int m = 0;
        for (int k = 0; k < x.length; k++) m = Math.max(m, Math.abs((x[k] & 0xff) - (y[k] & 0xff)));
        return m;
    }

    @Test
    void badSetupsAreOneLineErrorsNamingTheKey(@TempDir Path tmp) {
        Path out = tmp.resolve("run");
        String[][] cases = {
            {"file=" + steer + ",strenght=4", "unknown key 'strenght' (expected name, file, strength, op, window, half, taps, preserve-norm"},
            {"strength=4", "file: missing"},
            {"file=" + steer + ",op=push", "op: operator 'push'"},
            {"file=" + steer + ",window=0-9", "window: steps '0-9'"},
            {"file=" + steer + ",half=top", "half: half 'top'"},
            {"file=" + steer + ",taps=text_encoder.*", "taps 'text_encoder.*' selects none"},
            {"file=" + tmp.resolve("nope.safetensors"), "no such steering file"},
            {"file=" + steer + ",strength=1,strength=2", "key 'strength' is given twice"},
            {"file=" + steer + ",tokens=first", "tokens: tokens 'first': expected all, last, eos"},
            {"file=" + steer + ",tokens=eos", "tokens eos chooses token positions of text-encoder taps, but no tap of the plan is in the text encoder"},
        };
        for (String[] c : cases) {
            List<String> a = lean(out);
            a.addAll(List.of("--setup", c[0]));
            CliRunner.Result r = eval(a);
            assertEquals(2, r.code(), c[0] + ": " + r.err());
            assertTrue(r.err().contains("--setup " + c[0]) && r.err().contains(c[1]), c[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(out), "nothing written for " + c[0]);
        }
        List<String> twice = lean(out);
        twice.addAll(List.of("--setup", "name=a,file=" + steer, "--setup", "name=a,file=" + steer + ",window=0"));
        CliRunner.Result r = eval(twice);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--setup a: given twice"), r.err());
    }

    /**
     * Steering only the unconditional half needs an unconditional pass: refused before anything is written when the
     * run's guidance, or one prompt row's own, is at most 1 (SD-Turbo's 0); row 2 sets guidance 5.
     */
    @Test
    void halfUncondAtGuidanceAtMostOneIsRefused(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        List<String> a = lean(run);
        a.addAll(List.of("--steer", steer + "@4", "--steer-half", "uncond", "--guidance", "0"));
        CliRunner.Result r = eval(a);
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("half uncond") && r.err().contains("guidance 0.0") && r.err().contains("no unconditional pass"), r.err());
        assertFalse(Files.exists(run), "nothing written");
        Path rows = tmp.resolve("rows.jsonl");
        Files.writeString(rows, "{\"prompt\": \"a cat\", \"guidance\": 1.0}\n");
        a = lean(run);
        a.set(a.indexOf("--prompts") + 1, rows.toString());
        a.addAll(List.of("--steer", steer + "@4", "--steer-half", "uncond"));
        r = eval(a);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("guidance 1.0"), r.err());
    }

    /** --vae draws other images: a resume with another VAE, or without it, is refused. */
    @Test
    void aResumeWithAnotherVaeIsRefused(@TempDir Path tmp) {
        Path run = tmp.resolve("run"), taesd = tmp.resolve("taesd");
        CliRunner.Result made = CliRunner.run("make-random-model", "--config", "tiny", "--vae-kind", "tiny", "--out", taesd.toString());
        assertEquals(0, made.code(), made.err());
        List<String> first = lean(run);
        first.addAll(List.of("--limit", "1", "--vae", taesd.resolve("vae").toString()));
        CliRunner.Result r = eval(first);
        assertEquals(0, r.code(), r.err());
        List<String> without = lean(run);
        without.addAll(List.of("--limit", "1"));
        CliRunner.Result refused = eval(without);
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().contains("different run") && refused.err().contains("vae"), refused.err());
    }

    @Test
    void aKilledRunResumesWithExactlyOneScorePerItem(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run"), scores = run.resolve("scores.jsonl");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
            Main.class.getName()));
        cmd.addAll(args(run));
        judgeDelayMs = 1000;   // each item waits on the judge, so the kill lands between items
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(tmp.resolve("child.err").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(scores) || Files.readString(scores).lines().count() < 1) {
                assertTrue(p.isAlive(), "the child ended early: " + Files.readString(tmp.resolve("child.err")));
                assertTrue(System.nanoTime() < deadline, "no item finished in 60 s");
                Thread.sleep(20);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            judgeDelayMs = 0;
        }
        long before = ScoresFile.read(scores).lines().size();
        assertTrue(before >= 1 && before < 3, before + " items before the kill");
        CliRunner.Result r = eval(args(run));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains(before + " done earlier"), r.err());
        ScoresFile.Contents c = ScoresFile.read(scores);   // refuses an item listed twice
        assertEquals(0, c.partialBytes());
        assertEquals(3, c.lines().size());
        assertEquals(3, Files.readAllLines(scores).size());
        try (Stream<Path> s = Files.list(run.resolve("images"))) {
            assertEquals(6, s.filter(f -> f.getFileName().toString().matches("\\d{6}-(baseline|steer1)\\.png")).count());
        }
    }

    @Test
    void fidAndKidAreComputedAtTheEndAgainstCachedReferenceFeatures(@TempDir Path tmp) throws IOException {
        Path inception = Path.of("..", "eval", "src", "test", "resources", "dev", "stitch", "eval", "inception", "tiny_fid_inception.safetensors");
        Assumptions.assumeTrue(Files.isRegularFile(inception), "the eval module's tiny FID Inception test file is not beside this module");
        Path reference = Files.createDirectories(tmp.resolve("reference"));
        Random r = new Random(11);
        for (int i = 0; i < 4; i++) {
            byte[] rgb = new byte[48 * 48 * 3];
            r.nextBytes(rgb);
            Png.write(reference.resolve("ref" + i + ".png"), new RgbImage(48, 48, rgb), Map.of());
        }
        List<String> a = lean(tmp.resolve("run"));
        a.set(a.indexOf("--metrics") + 1, "fid,kid");
        Path cacheDir = tmp.resolve("cache");
        a.addAll(List.of("--inception", inception.toString(), "--reference-images", reference.toString(), "--feature-cache", cacheDir.toString()));
        CliRunner.Result res = eval(a);
        assertEquals(0, res.code(), res.err());
        JsonNode base = Jsonl.JSON.readTree(tmp.resolve("run/summary.json").toFile()).get("setups").get("baseline");
        double fid = base.get("fid").asDouble();
        assertTrue(Double.isFinite(fid) && fid > 0, "fid " + fid);
        assertTrue(Double.isFinite(base.get("kid").get("mean").asDouble()) && base.get("kid").get("std").asDouble() >= 0, base.toString());
        Path cache;
        try (Stream<Path> s = Files.list(cacheDir)) {
            cache = s.findFirst().orElseThrow();
        }
        assertTrue(cache.getFileName().toString().matches("reference-[0-9a-f]{8}-fid-inception-tiny_fid_inception\\.safetensors"),
            "the extension once: " + cache);
        try (Stream<Path> s = Files.list(reference)) {
            assertEquals(4, s.count(), "nothing written into the reference folder");
        }
        var stamp = Files.getLastModifiedTime(cache);
        CliRunner.Result again = eval(a);
        assertEquals(0, again.code(), again.err());
        assertEquals(stamp, Files.getLastModifiedTime(cache), "the reference features come from the cache");
        assertEquals(fid, Jsonl.JSON.readTree(tmp.resolve("run/summary.json").toFile()).get("setups").get("baseline").get("fid").asDouble(), 1e-9);
    }

    @Test
    void badFlagsAreOneLineErrorsWithExitCode2(@TempDir Path tmp) {
        Path out = tmp.resolve("run");
        String[][] cases = {
            {"--metrics", "clip,fidd"}, {"--metrics"}, {"--shard", "2/2"}, {"--images-per-prompt", "0"}, {"--limit", "0"},
        };
        String[] names = {"--metrics fidd", "--metrics", "--shard", "--images-per-prompt", "--limit"};
        for (int i = 0; i < cases.length; i++) {
            List<String> a = lean(out);
            a.addAll(List.of(cases[i]));
            check(a, names[i]);
        }
        // a metric whose model is missing names the flag
        List<String> noClip = lean(out);
        noClip.subList(noClip.indexOf("--clip"), noClip.indexOf("--clip") + 2).clear();
        check(noClip, "--clip");
        List<String> fid = lean(out);
        fid.set(fid.indexOf("--metrics") + 1, "clip,fid");
        check(fid, "--inception");
        List<String> judge = lean(out);
        judge.set(judge.indexOf("--metrics") + 1, "judge");
        check(judge, "--judge-url");
        List<String> probe = lean(out);
        probe.set(probe.indexOf("--metrics") + 1, "probe");
        check(probe, "--probe-concept");
        List<String> prompt = lean(out);
        prompt.addAll(List.of("--prompt", "x"));
        check(prompt, "--prompt");
        List<String> missing = lean(out);
        missing.set(missing.indexOf(prompts.toString()), tmp.resolve("nope.csv").toString());
        check(missing, "--prompts");
        assertFalse(Files.exists(out), "no run folder for a bad command");
    }

    static void check(List<String> args, String flag) {
        CliRunner.Result r = eval(args);
        assertEquals(2, r.code(), args + "\n" + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(flag), flag + ": " + r.err());
    }

    static List<String> replaced(List<String> args, String flag, String value) {
        List<String> a = new ArrayList<>(args);
        a.set(a.indexOf(flag) + 1, value);
        return a;
    }

    /** A failed command leaves no run folder, so the corrected command is never refused for a half-made run. */
    static void refusedBeforeAnythingIsWritten(List<String> args, Path out, String... mentions) {
        CliRunner.Result r = eval(args);
        assertEquals(2, r.code(), args + "\n" + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String m : mentions) assertTrue(r.err().contains(m), m + ": " + r.err());
        assertFalse(Files.exists(out), "a refused command wrote " + out + ": " + r.err());
    }

    @Test
    void everythingIsValidatedBeforeTheRunFolderIsWritten(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        List<String> judged = args(run, "--limit", "1");
        // the judge's key variable is not set
        List<String> noKey = new ArrayList<>(judged);
        noKey.set(noKey.indexOf("--judge-key-env="), "--judge-key-env=STITCH_TEST_NEVER_SET");
        refusedBeforeAnythingIsWritten(noKey, run, "STITCH_TEST_NEVER_SET");
        // a judge URL without a host
        refusedBeforeAnythingIsWritten(replaced(judged, "--judge-url", "http:///v1"), run, "--judge-url", "host");
        // a CLIP folder without its tokenizer
        Path noTokenizer = Files.createDirectories(tmp.resolve("clip-without-tokenizer"));
        try (Stream<Path> files = Files.list(clip)) {
            for (Path f : files.toList())
                if (!f.getFileName().toString().matches("vocab.json|merges.txt")) Files.copy(f, noTokenizer.resolve(f.getFileName()));
        }
        refusedBeforeAnythingIsWritten(replaced(judged, "--clip", noTokenizer.toString()), run, "clip-without-tokenizer");
        // a prompt row with an impossible guidance scale: named by row and column, not as --guidance
        Path csv = tmp.resolve("rows.csv");
        Files.writeString(csv, "prompt,evaluation_guidance\na red cube,7.5\na cat,-1e30\n");
        CliRunner.Result r = eval(replaced(judged, "--prompts", csv.toString()));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("rows.csv:3") && r.err().contains("evaluation_guidance") && !r.err().contains("--guidance"), r.err());
        assertFalse(Files.exists(run));
        // the corrected command runs
        CliRunner.Result ok = eval(judged);
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void theOutputFolderNeverCoversAnInput(@TempDir Path tmp) throws IOException {
        List<String> a = lean(tmp.resolve("unused"));
        for (Path input : List.of(model, prompts, shared, model.resolve("unet"))) {
            CliRunner.Result r = eval(replaced(a, "--out", input.toString()));
            assertEquals(2, r.code(), input + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().matches("(?s)stitch: --out " + java.util.regex.Pattern.quote(input.toString())
                + ": (is the same file as|would replace a folder that holds|lies inside) the input .*"), r.err());
        }
        List<String> steered = lean(steer);
        steered.addAll(List.of("--steer", steer.toString()));
        CliRunner.Result r = eval(steered);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("is the same file as the input steering " + steer), r.err());
        assertTrue(Files.isRegularFile(steer) && Files.isRegularFile(model.resolve("model_index.json")), "the inputs are intact");
    }

    @Test
    void aSecondEvalOnTheSameFolderIsRefused(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        try (var held = dev.stitch.eval.run.RunLock.acquire(run)) {
            CliRunner.Result r = eval(lean(run));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("is in use by another run (process " + ProcessHandle.current().pid()), r.err());
        }
        assertFalse(Files.exists(run.resolve("run.json")));
    }

    /** Judge only, with its own question: no CLIP needed. */
    static List<String> judgeOnly(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", model.toString(), "--prompts", prompts.toString(),
            "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu", "--metrics", "judge",
            "--judge-url", "http://127.0.0.1:" + server.getAddress().getPort() + "/v1", "--judge-model", "tiny-judge", "--judge-key-env=",
            "--judge-question", "Is there a cat?", "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void aDeadJudgeIsCountedFailsTheRunAndTripsTheBreaker(@TempDir Path tmp) throws IOException {
        judgeDown = true;
        try {
            Path dead = tmp.resolve("dead");
            CliRunner.Result r = eval(judgeOnly(dead));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("judge question 000000-baseline failed: HTTP_STATUS"), r.err());
            assertTrue(r.err().contains("judge: 3 of 3 questions failed {HTTP_STATUS=3}"), r.err());
            assertTrue(r.err().strip().endsWith("stitch: judge: every question failed (3); summary.json and report.html have no judge scores (see "
                + dead.resolve("judge-audit.jsonl") + ")"), r.err());
            JsonNode summary = Jsonl.JSON.readTree(dead.resolve("summary.json").toFile());
            assertEquals(3, summary.get("judge").get("failed").asInt());
            assertEquals(0, summary.get("judge").get("answered").asInt());
            assertEquals(3, summary.get("setups").get("baseline").get("judge").get("failed").asInt());

            // the breaker: two failures in a row stop the run; the item that tripped it is not recorded
            Path run = tmp.resolve("run");
            CliRunner.Result stopped = eval(judgeOnly(run, "--judge-max-failures", "2"));
            assertEquals(2, stopped.code(), stopped.err());
            assertTrue(stopped.err().contains("judge: 2 questions failed in a row (the last: HTTP_STATUS); the run stopped"), stopped.err());
            assertEquals(1, scores(run).size());
            assertFalse(Files.exists(run.resolve("summary.json")));

            // the judge is back: the same command resumes and finishes
            judgeDown = false;
            CliRunner.Result resumed = eval(judgeOnly(run, "--judge-max-failures", "2"));
            assertEquals(0, resumed.code(), resumed.err());
            assertTrue(resumed.err().contains("1 done earlier, 2 to do"), resumed.err());
            assertTrue(resumed.err().contains("judge: 1 of 3 questions failed"), resumed.err());
            assertEquals(3, scores(run).size());
        } finally {
            judgeDown = false;
        }
    }

    @Test
    void anotherModelUnderTheSameNameIsRefusedOnResumeAndTheReportCanInlineItsImages(@TempDir Path tmp) throws IOException {
        Path first = tmp.resolve("a/tiny"), second = tmp.resolve("b/tiny"), run = tmp.resolve("run");
        RandomModel.write("tiny", first, 1, DType.F32, null);
        RandomModel.write("tiny", second, 2, DType.F32, null);
        CliRunner.Result r = eval(replaced(lean(run), "--model", first.toString()));
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.readString(run.resolve("report.html")).contains("data:image/png;base64,"));
        JsonNode runJson = Jsonl.JSON.readTree(run.resolve("run.json").toFile());
        assertEquals("tiny", runJson.get("model").asText());
        assertTrue(runJson.get("model_sha256").asText().matches("[0-9a-f]{64}"), runJson.toString());

        CliRunner.Result other = eval(replaced(lean(run), "--model", second.toString()));
        assertEquals(2, other.code(), other.err());
        assertTrue(other.err().contains("model_sha256"), other.err());

        List<String> inline = replaced(lean(run), "--model", first.toString());
        inline.add("--inline-images");
        CliRunner.Result again = eval(inline);
        assertEquals(0, again.code(), again.err());
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.contains("data:image/png;base64,") && !html.contains("src=\"images/"), "--inline-images embeds every image");
    }

    @Test
    void theSeedHelpSaysWhatEvalDoes() {
        CliRunner.Result r = CliRunner.run("eval", "--help");
        assertEquals(0, r.code(), r.err());
        String seed = r.out().substring(r.out().indexOf("--seed"));
        seed = seed.substring(0, seed.indexOf("\n  -", 1) < 0 ? seed.length() : seed.indexOf("\n  -", 1));
        assertTrue(seed.contains("(default 0)"), seed);
        assertFalse(seed.contains("random"), seed);
    }

    @Test
    void aKeyInTheJudgeUrlIsWrittenNowhere(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        String url = "http://someone:Pw-Hidden-7@127.0.0.1:" + server.getAddress().getPort() + "/v1?api-key=K-Hidden-3";
        CliRunner.Result r = eval(replaced(judgeOnly(run, "--limit", "1"), "--judge-url", url));
        assertEquals(0, r.code(), r.err());
        try (Stream<Path> files = Files.walk(run)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.toString().endsWith(".png")).toList()) {
                String text = Files.readString(f);
                assertFalse(text.contains("K-Hidden-3") || text.contains("Pw-Hidden-7") || text.contains("someone"), f + ": " + text);
            }
        }
        assertTrue(Files.readString(run.resolve("run.json")).contains("/v1?api-key=[redacted]"));
        assertTrue(Files.readString(run.resolve("report.html")).contains("api-key=[redacted]"));
        assertEquals(3, Files.readString(run.resolve("judge-audit.jsonl")).lines().count(), "request, response, result: answered");
    }
}
