package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.eval.Golden;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.metrics.AnchorSimilarity;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** {@code --metrics anchor} on the tiny model with the tiny CLIP model and real PNG anchors: each score by hand. */
class AnchorMetricTest {
    static final Backend OPS = Backends.byName("cpu");

    private static RgbImage noise(Random r, int side) {
        byte[] rgb = new byte[side * side * 3];
        r.nextBytes(rgb);
        return new RgbImage(side, side, rgb);
    }

    @Test
    void eachImageIsScoredAgainstItsConceptsAnchors(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        RandomModel.write("tiny", model, 7, DType.F32, null);
        Path clipDir = Golden.resource("clip/tiny-clip");
        Random r = new Random(11);
        Path data = Files.createDirectories(dir.resolve("data/anchors"));
        for (String n : List.of("a1", "a2", "b1")) Png.write(data.resolve(n + ".png"), noise(r, 40), Map.of());
        Path prompts = dir.resolve("data/concepts.csv");
        Files.writeString(prompts, """
            prompt,concept,anchors
            a painting of a harbour,style a,anchors/a1.png|anchors/a2.png
            a cartoon character waving,character b,anchors/b1.png
            """);
        Path out = dir.resolve("run");
        EvalSettings s = EvalSettings.builder(prompts, out).generation(EvalSettings.Generation.defaults().withSteps(2))
            .metrics(Metric.ANCHOR).clip(clipDir).build();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        new Evaluation(pipe, OPS, s, quiet, k -> null).run();

        ClipModel clip = ClipModel.load(clipDir);
        Ctx ctx = new Ctx(OPS);
        Map<String, float[]> centroid = Map.of(
            "style a", AnchorSimilarity.centroid(clip.imageEmbeds(ctx, List.of(Png.read(data.resolve("a1.png")), Png.read(data.resolve("a2.png"))))),
            "character b", AnchorSimilarity.centroid(clip.imageEmbeds(ctx, List.of(Png.read(data.resolve("b1.png"))))));
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(out.resolve("scores.jsonl"));
        assertEquals(2, lines.size());
        double sum = 0;
        for (String l : lines) {
            JsonNode line = json.readTree(l), setup = line.at("/setups/0");
            float[] emb = clip.imageEmbeds(ctx, List.of(Png.read(out.resolve(setup.get("file").asText()))))[0];
            double expected = AnchorSimilarity.score(emb, centroid.get(line.get("category").asText()));
            assertEquals(expected, setup.get("anchor").asDouble(), 1e-6, l);
            assertNotEquals(0, expected);
            sum += expected;
        }
        JsonNode summary = json.readTree(out.resolve("summary.json").toFile());
        assertEquals(sum / 2, summary.at("/setups/baseline/anchor/mean").asDouble(), 1e-9);
        assertEquals(2, summary.at("/setups/baseline/anchor/n").asInt());
        for (String l : lines) {
            JsonNode line = json.readTree(l);
            assertEquals(line.at("/setups/0/anchor").asDouble(), summary.at("/setups/baseline/anchor/by_concept").get(line.get("category").asText()).get("mean").asDouble(), 1e-12);
        }
        JsonNode run = json.readTree(out.resolve("run.json").toFile());
        assertTrue(run.toString().contains("anchors_sha256"), run.toString());
        assertTrue(Files.readString(out.resolve("report.html")).contains("anchor similarity"));

        // an edited anchor image changes every score: the run is refused, not mixed
        Png.write(data.resolve("b1.png"), noise(r, 40), Map.of());
        UserError e = assertThrows(UserError.class, () -> new Evaluation(pipe, OPS, s, quiet, k -> null).run());
        assertTrue(e.getMessage().contains("anchors_sha256"), e.getMessage());
    }

    @Test
    void aPlainPromptFileIsRefusedByName(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        RandomModel.write("tiny", model, 7, DType.F32, null);
        Path prompts = dir.resolve("p.txt");
        Files.writeString(prompts, "a fox\n");
        EvalSettings s = EvalSettings.builder(prompts, dir.resolve("run")).metrics(Metric.ANCHOR).clip(Golden.resource("clip/tiny-clip")).build();
        SettingError e = assertThrows(SettingError.class, () -> new Evaluation(StableDiffusionPipeline.load(model), OPS, s).run());
        assertEquals("prompts", e.parameter());
        assertTrue(e.getMessage().contains("metric anchor needs a concept set"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("run")), "a refused run leaves no folder");
        assertEquals("clip", assertThrows(SettingError.class, () -> EvalSettings.builder(prompts, dir.resolve("run")).metrics(Metric.ANCHOR).build()).parameter());
    }
}
