package dev.stitch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.ScoresFile;
import dev.stitch.kernels.DType;
import dev.stitch.steering.SteeringFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
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
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code stitch eval --spark-master local[2,4]} (two task slots; a failed task is tried up to 4 times) against the same
 * run in one process: the same items, images, judgements and scores, resumed and retried without duplicates.
 */
class EvalSparkTest {
    @TempDir static Path shared;
    static Path model, clip, steer, prompts, single;
    static HttpServer judge;
    static final AtomicInteger failNext = new AtomicInteger(), failed = new AtomicInteger();

    @BeforeAll
    static void setUp() throws IOException {
        model = shared.resolve("tiny");
        RandomModel.write("tiny", model, 0, DType.F32, null);
        clip = EvalCommandTest.tinyClip(shared.resolve("clip"), model.resolve("tokenizer"));
        TapCatalog.Entry e = StableDiffusionPipeline.load(model).tapCatalog(64, 64).entries().stream()
            .filter(x -> x.name().equals("unet.mid_block")).findFirst().orElseThrow();
        float[] v = new float[e.channels()];
        Random r = new Random(5);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        steer = shared.resolve("v.safetensors");
        new SteeringFile(Map.of(), Map.of(e.name(), new SteeringFile.TapVector(e.name(), new float[][] {v}, null))).write(steer);
        prompts = shared.resolve("prompts.jsonl");
        Files.writeString(prompts, """
            {"prompt": "a red cube", "category": "shapes"}
            {"prompt": "a cat on a mat", "seed": 42, "category": "animals"}
            {"prompt": "a blue sphere", "category": "shapes"}
            {"prompt": "a green tree", "category": "plants"}
            {"prompt": "a dog in snow", "category": "animals"}
            """);
        // A judge whose answer depends only on what it is asked (the image), so two runs get the same answers; it can
        // be told to refuse the next requests (401: not retried by the client, so the item's question fails).
        judge = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        judge.setExecutor(Executors.newCachedThreadPool());
        judge.createContext("/v1/chat/completions", ex -> {
            try (ex) {
                byte[] body = ex.getRequestBody().readAllBytes();
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    failed.incrementAndGet();
                    ex.sendResponseHeaders(401, -1);
                    return;
                }
                EvalCommandTest.reply(ex, Math.floorMod(Arrays.hashCode(body), 2) == 0 ? "yes" : "no");
            }
        });
        judge.start();
        single = shared.resolve("single");
        CliRunner.Result done = eval(single);
        assertEquals(0, done.code(), done.err());
    }

    @AfterAll
    static void tearDown() { judge.stop(0); }

    static CliRunner.Result eval(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", model.toString(), "--prompts", prompts.toString(),
            "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu",
            "--metrics", "clip,probe,judge", "--clip", clip.toString(), "--probe-concept", "a cat",
            "--judge-url", "http://127.0.0.1:" + judge.getAddress().getPort() + "/v1", "--judge-model", "tiny", "--judge-key-env=",
            "--steer", steer + "@4", "--out", out.toString()));
        a.addAll(List.of(more));
        return CliRunner.run(a.toArray(String[]::new));
    }

    static CliRunner.Result spark(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("--spark-master", "local[2,4]"));
        a.addAll(List.of(more));
        return eval(out, a.toArray(String[]::new));
    }

    static List<ObjectNode> scores(Path run) { return new ArrayList<>(ScoresFile.read(run.resolve("scores.jsonl")).lines().values()); }

    /** The same lines, images and summary as the single-process run; scores.jsonl has each item once. */
    static void sameAsSingleProcess(Path run) throws IOException {
        List<ObjectNode> expected = scores(single), got = scores(run);
        assertEquals(expected, got);
        assertEquals(expected.size(), Files.readAllLines(run.resolve("scores.jsonl")).size(), "each item once");
        for (ObjectNode line : expected)
            for (JsonNode s : line.get("setups")) {
                String f = s.get("file").asText();
                assertArrayEquals(Files.readAllBytes(single.resolve(f)), Files.readAllBytes(run.resolve(f)), f);
                assertTrue(s.has("judge"), s.toString());
            }
        JsonNode a = Jsonl.JSON.readTree(single.resolve("summary.json").toFile()), b = Jsonl.JSON.readTree(run.resolve("summary.json").toFile());
        assertEquals(a.get("setups"), b.get("setups"));
    }

    @Test
    void sparkRunEqualsTheSingleProcessRun(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner.Result r = spark(run);
        assertEquals(0, r.code(), r.err());
        sameAsSingleProcess(run);
        assertTrue(r.err().contains("5 items in this shard, 0 done earlier, 5 to do"), r.err());
    }

    @Test
    void aHalfDoneRunResumesOnlyTheMissingItems(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        assertEquals(0, spark(run).code());
        // keep items 0 and 3 as if the run had been killed after them; their images are removed too, so a recomputed
        // item would show up as an image written again
        List<String> lines = Files.readAllLines(run.resolve("scores.jsonl"));
        List<String> kept = lines.stream().filter(l -> l.startsWith("{\"item\":0,") || l.startsWith("{\"item\":3,")).toList();
        assertEquals(2, kept.size());
        Files.write(run.resolve("scores.jsonl"), kept);
        List<Path> keptImages;
        try (var files = Files.list(run.resolve("images"))) {
            keptImages = files.filter(f -> f.getFileName().toString().matches("00000[03]-.*")).toList();
        }
        assertFalse(keptImages.isEmpty());
        for (Path f : keptImages) Files.delete(f);
        CliRunner.Result r = spark(run);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("5 items in this shard, 2 done earlier, 3 to do"), r.err());
        for (Path f : keptImages) assertFalse(Files.exists(f), f + " was made again");
        List<ObjectNode> expected = scores(single), got = scores(run);
        assertEquals(expected, got);
    }

    @Test
    void aTaskThatFailsIsRetriedAndNothingIsRecordedTwice(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        // the first judge question fails; with --judge-max-failures 1 that fails its task, which Spark tries again
        failed.set(0);
        failNext.set(1);
        CliRunner.Result r = spark(run, "--judge-max-failures", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, failed.get(), "one question was refused");
        sameAsSingleProcess(run);
    }

    @Test
    void aResumeMayAskTheJudgeWithOtherConcurrency(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        assertEquals(0, eval(run, "--limit", "1").code());
        CliRunner.Result r = eval(run, "--limit", "1", "--judge-concurrency", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("1 done earlier, 0 to do"), r.err());
    }

    @Test
    void judgeConcurrencyMustBePositive(@TempDir Path tmp) {
        CliRunner.Result r = spark(tmp.resolve("run"), "--judge-concurrency", "0");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--judge-concurrency 0: must be at least 1"), r.err());
        assertFalse(Files.exists(tmp.resolve("run")), "nothing written");
    }
}
