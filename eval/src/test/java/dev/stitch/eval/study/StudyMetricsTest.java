package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.ScoresFile;
import dev.stitch.eval.run.Shard;
import dev.stitch.eval.stats.McNemar;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The study's other metrics on the tiny model: a yes/no judge (a loopback OpenAI-compatible server) as the concept
 * metric with McNemar's test per setup, FID and KID on the neutral set, and the per-category breakdown of a prompt file
 * with categories (I2P's column).
 */
class StudyMetricsTest {
    @Test
    void judgeMcNemarFidKidAndCategories(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        RandomModel.write("tiny", model, 7, DType.F32, null);
        Files.writeString(dir.resolve("pairs.jsonl"), """
            {"positive": "a red house", "negative": "a house"}
            {"positive": "a red car", "negative": "a car"}
            """);
        Files.writeString(dir.resolve("target.csv"), "prompt,categories\n\"a house\",\"sexual, violence\"\na car,violence\n");
        Path reference = Files.createDirectories(dir.resolve("reference"));
        Random rnd = new Random(11);
        for (int i = 0; i < 4; i++) {
            byte[] rgb = new byte[48 * 48 * 3];
            rnd.nextBytes(rgb);
            Png.write(reference.resolve("ref" + i + ".png"), new RgbImage(48, 48, rgb), Map.of());
        }
        Path inception = Path.of("src", "test", "resources", "dev", "stitch", "eval", "inception", "tiny_fid_inception.safetensors").toAbsolutePath();

        // the judge says yes to every third question it is asked
        AtomicInteger asked = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/v1/chat/completions", ex -> {
            try (ex) {
                String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(body.contains("Is this image red?"));
                ObjectNode o = Jsonl.JSON.createObjectNode().put("id", "x").put("object", "chat.completion");
                ObjectNode m = o.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop").putObject("message");
                m.put("role", "assistant").put("content", "{\"answer\": \"" + (asked.incrementAndGet() % 3 == 0 ? "yes" : "no") + "\"}");
                byte[] b = o.toString().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(b);
                }
            }
        });
        server.start();
        try {
            Path file = dir.resolve("study.yaml");
            Files.writeString(file, """
                model: %s
                generation: {steps: 2, guidance: 7.5, seed: 3, seeds_per_prompt: 2}
                pairs: pairs.jsonl
                capture: {taps: "unet.mid_block.resnets.0,unet.up_blocks.1.resnets.0", batch: 2}
                methods: [mean-diff]
                setups:
                  - {name: each, taps: each, strength: 8}
                prompts: {target: target.csv, neutral: ["a bowl of fruit"]}
                metrics:
                  concept: judge
                  judge: {url: "http://127.0.0.1:%d/v1", model: tiny-judge, key_env: "", question: "Is this image red?"}
                  colour: red
                  inception: %s
                  reference_images: reference
                  feature_cache: cache
                """.formatted(model.toAbsolutePath(), server.getAddress().getPort(), inception));
            Path out = dir.resolve("run");
            Study.Result r = new Study(Experiment.read(file), Backends.byName("cpu"), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
                .run(out, Shard.ALL);
            assertEquals(6, r.progress().done(), "4 target + 2 neutral items");
            assertEquals(6 * 3, asked.get(), "every image asked once: baseline and 2 arms");

            List<ObjectNode> lines = new ArrayList<>(ScoresFile.read(out.resolve("scores.jsonl")).lines().values());
            for (ObjectNode l : lines)
                for (JsonNode a : l.get("arms")) assertTrue(a.get("judge").isInt() && (a.get("judge").asInt() == 0 || a.get("judge").asInt() == 1), a.toString());
            assertEquals(List.of("sexual", "violence"), List.of(lines.get(0).get("categories").get(0).asText(), lines.get(0).get("categories").get(1).asText()));
            assertTrue(Files.isRegularFile(out.resolve(Study.JUDGE_AUDIT)));

            JsonNode s = Jsonl.JSON.readTree(r.summary().toFile());
            assertEquals("judge", s.get("concept_metric").asText());
            assertEquals("Is this image red?", Jsonl.JSON.readTree(out.resolve("run.json").toFile()).at("/metrics/judge/question").asText());
            for (int k = 0; k < 2; k++) {
                JsonNode a = s.get("setups").get(k);
                String key = a.get("key").asText();
                // McNemar from the lines by hand: target items, baseline yes/no against the arm's
                int yesToNo = 0, noToYes = 0, same = 0;
                for (ObjectNode l : lines) {
                    if (!l.get("set").asText().equals("target")) continue;
                    int b = judge(l, "baseline"), t = judge(l, key);
                    if (b == 1 && t == 0) yesToNo++;
                    else if (b == 0 && t == 1) noToYes++;
                    else same++;
                }
                assertEquals(yesToNo, a.at("/mcnemar/yes_to_no").asInt());
                assertEquals(noToYes, a.at("/mcnemar/no_to_yes").asInt());
                assertEquals(McNemar.of(yesToNo, noToYes, same).pValue(), a.at("/mcnemar/p_value").asDouble(), 1e-12);
                // FID and KID of the arm's 2 neutral images, and their change from the baseline's
                double fid = a.at("/fid/value").asDouble();
                assertTrue(Double.isFinite(fid) && fid > 0, a.toString());
                assertEquals(2, a.at("/fid/n").asInt());
                assertEquals(fid - s.at("/baseline/fid").asDouble(), a.at("/fid/change").asDouble(), 1e-9);
                assertTrue(Double.isFinite(a.at("/kid/mean").asDouble()) && a.at("/kid/std").asDouble() >= 0, a.toString());
            }
            // the categories: violence has both prompts (4 items), sexual one (2 items); each arm's effect over them
            JsonNode cats = s.get("categories");
            assertEquals("sexual", cats.get(0).get("category").asText());
            assertEquals(2, cats.get(0).get("items").asInt());
            assertEquals("violence", cats.get(1).get("category").asText());
            assertEquals(4, cats.get(1).get("items").asInt());
            for (int k = 0; k < 2; k++) {
                String key = s.get("setups").get(k).get("key").asText();
                double sum = 0;
                for (int i = 0; i < 2; i++) sum += judge(lines.get(i), key) - judge(lines.get(i), "baseline");
                assertEquals(sum / 2, cats.get(0).get("setups").get(k).at("/effect/mean").asDouble(), 1e-12, "sexual: items 0 and 1");
                assertEquals(s.get("setups").get(k).at("/effect/mean").asDouble(), cats.get(1).get("setups").get(k).at("/effect/mean").asDouble(), 1e-12,
                    "violence: every target item");
            }
            String html = Files.readString(r.report());
            assertTrue(html.contains("6. By category") && html.contains("FID (neutral)"), "report sections");
        } finally {
            server.stop(0);
        }
    }

    private static int judge(ObjectNode line, String arm) {
        for (JsonNode a : line.get("arms")) if (a.get("arm").asText().equals(arm)) return a.get("judge").asInt();
        throw new AssertionError(arm);
    }
}
