package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.eval.Golden;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.metrics.AnchorSimilarity;
import dev.stitch.eval.run.Shard;
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

/** The anchor similarity as a study's concept metric: read from the experiment file, scored per image, summarised. */
class AnchorConceptStudyTest {
    static final Backend OPS = Backends.byName("cpu");

    /**
     * The tiny CLIP model with the tiny SD model's tokenizer (the study also takes the CLIP score), its token
     * embedding grown with random rows to that tokenizer's vocabulary.
     */
    static Path clipWithTokenizer(Path dir, Path tokenizer) throws IOException {
        Path src = Golden.resource("clip/tiny-clip");
        Files.createDirectories(dir);
        Files.copy(src.resolve("preprocessor_config.json"), dir.resolve("preprocessor_config.json"));
        for (String n : List.of("vocab.json", "merges.txt")) Files.copy(tokenizer.resolve(n), dir.resolve(n));
        int vocab = 0;
        for (JsonNode id : new ObjectMapper().readTree(dir.resolve("vocab.json").toFile())) vocab = Math.max(vocab, id.asInt() + 1);
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(src.resolve("config.json").toFile());
        ((ObjectNode) config.get("text_config")).put("vocab_size", vocab);
        Files.writeString(dir.resolve("config.json"), config.toString());
        SafeTensors st = SafeTensors.open(src.resolve("model.safetensors"));
        SafeTensorsWriter out = new SafeTensorsWriter();
        String emb = "text_model.embeddings.token_embedding.weight";
        for (String n : st.names()) {
            if (!n.equals(emb)) {
                out.add(n, st.entry(n).dtype(), st.entry(n).shape(), st.bytes(n));
                continue;
            }
            float[] old = st.floats(n);
            int width = st.entry(n).intShape()[1];
            float[] grown = java.util.Arrays.copyOf(old, vocab * width);
            Random r = new Random(4);
            for (int i = old.length; i < grown.length; i++) grown[i] = (float) (0.02 * r.nextGaussian());
            out.addF32(n, grown, vocab, width);
        }
        out.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void aStudyMeasuresItsEffectOnTheAnchorSimilarity(@TempDir Path dir) throws IOException {
        RandomModel.write("tiny", dir.resolve("model"), 7, DType.F32, null);
        Path clipDir = clipWithTokenizer(dir.resolve("clip"), dir.resolve("model/tokenizer"));
        Random r = new Random(2);
        Path anchors = Files.createDirectories(dir.resolve("anchors"));
        for (String n : List.of("b.png", "a.png")) {
            byte[] rgb = new byte[32 * 32 * 3];
            r.nextBytes(rgb);
            Png.write(anchors.resolve(n), new RgbImage(32, 32, rgb), Map.of());
        }
        Files.writeString(anchors.resolve("notes.txt"), "not an image");
        Files.writeString(dir.resolve("pairs.jsonl"), """
            {"positive": "a harbour, in the style of a", "negative": "a harbour"}
            {"positive": "a field, in the style of a", "negative": "a field"}
            """);
        String yaml = """
            model: model
            generation: {steps: 2, seed: 1}
            pairs: pairs.jsonl
            capture: {taps: "unet.mid_block.resnets.1", batch: 2}
            methods: [mean-diff]
            setups: [{name: mid, taps: all, strength: 8}]
            prompts: {target: ["a harbour at dusk"]}
            metrics: {clip: clip, anchors: anchors}
            """;
        Path f = dir.resolve("study.yaml");
        Files.writeString(f, yaml);
        Experiment e = Experiment.read(f);
        assertEquals(Experiment.MetricKind.ANCHOR, e.metrics().concept(), "anchors given, no colour or probe: the concept metric");
        assertEquals(List.of(anchors.resolve("a.png"), anchors.resolve("b.png")), e.metrics().anchors().stream().map(Path::toAbsolutePath).toList());
        assertEquals(2, e.toJson().at("/metrics/anchors").size());

        Study.Result res = new Study(e, OPS, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run(dir.resolve("run"), Shard.ALL);
        ObjectMapper json = new ObjectMapper();
        JsonNode line = json.readTree(Files.readAllLines(res.run().scoresFile()).getFirst());
        ClipModel clip = ClipModel.load(clipDir);
        Ctx ctx = new Ctx(OPS);
        float[] centroid = AnchorSimilarity.centroid(clip.imageEmbeds(ctx, List.of(Png.read(anchors.resolve("a.png")), Png.read(anchors.resolve("b.png")))));
        double[] score = new double[2];
        for (int k = 0; k < 2; k++) {
            JsonNode arm = line.at("/arms/" + k);
            float[] emb = clip.imageEmbeds(ctx, List.of(Png.read(res.run().dir().resolve(arm.get("file").asText()))))[0];
            score[k] = AnchorSimilarity.score(emb, centroid);
            assertEquals(score[k], arm.get("anchor").asDouble(), 1e-6);
        }
        JsonNode summary = json.readTree(res.summary().toFile());
        assertEquals("anchor", summary.get("concept_metric").asText());
        assertEquals(score[1] - score[0], summary.at("/setups/0/effect/mean").asDouble(), 1e-9);

        Files.writeString(f, yaml.replace("anchors: anchors", "anchors: [anchors/a.png, anchors/c.png]"));
        assertTrue(assertThrows(UserError.class, () -> Experiment.read(f)).getMessage().contains("metrics.anchors[1]: no such image"));
        Files.writeString(f, yaml.replace("clip: clip, ", ""));
        assertTrue(assertThrows(UserError.class, () -> Experiment.read(f)).getMessage().contains("metrics.anchors: the anchor similarity needs clip: DIR"));
    }
}
