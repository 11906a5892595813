package dev.stitch.eval.study;

import dev.stitch.eval.metrics.ColourShare;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.Method;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringPlan;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The experiment file: the documented example reads as documented, and each kind of mistake is one line naming its key. */
class ExperimentFileTest {
    @TempDir Path dir;

    @BeforeEach
    void files() throws IOException {
        Files.createDirectories(dir.resolve("model"));
        Files.writeString(dir.resolve("pairs.jsonl"), "{\"positive\": \"a red house\", \"negative\": \"a house\"}\n"
            + "{\"positive\": \"a red car\", \"negative\": \"a car\"}\n");
    }

    /** The commented example of docs/study.md, as the page shows it. */
    static String documentedExample() throws IOException {
        Path doc = Path.of("..", "docs", "study.md");
        String md = Files.readString(doc);
        int start = md.indexOf("```yaml\n");
        assertTrue(start >= 0, "docs/study.md has a ```yaml block");
        return md.substring(start + 8, md.indexOf("```", start + 8));
    }

    private Experiment read(String yaml) throws IOException {
        Path f = dir.resolve("study.yaml");
        Files.writeString(f, yaml);
        return Experiment.read(f);
    }

    @Test
    void theDocumentedExampleReadsAsDocumented() throws IOException {
        Experiment e = read(documentedExample());
        assertEquals(dir.resolve("model").toAbsolutePath(), e.model());
        assertEquals(10, e.generation().steps());
        assertEquals(7.5f, e.generation().guidance());
        assertEquals(64, e.generation().width());
        assertEquals(2, e.generation().seedsPerPrompt());
        assertEquals(2, e.pairs().get(0).pairs().size());
        assertEquals(SteeringPlan.Half.COND, e.capture().half());
        assertEquals(List.of(Method.MEAN_DIFF, Method.PCA_DIFF), e.methods());
        assertEquals(5, e.setups().size());
        Experiment.Setup each = e.setups().get(0);
        assertEquals(Experiment.Scope.EACH, each.scope());
        assertEquals(List.of(4f, 8f), each.strengths());
        assertEquals(Operator.ADD, each.operator());
        assertEquals(SteeringPlan.Half.BOTH, each.half());
        Experiment.Setup late = e.setups().get(2);
        assertEquals(Experiment.Scope.GROUP, late.scope());
        assertEquals(LayerGroup.LATE, late.group());
        assertEquals(Method.PCA_DIFF, late.method());
        assertEquals("0-4", late.window().toString());
        assertEquals(3, e.setups().get(3).k());
        assertEquals(Experiment.Scope.ALL, e.setups().get(4).scope());
        assertEquals(List.of("a house", "a car"), e.prompts().target());
        assertEquals(Experiment.MetricKind.COLOUR, e.metrics().concept());
        assertEquals(ColourShare.named("red"), e.metrics().colour());
        assertEquals(Experiment.MetricKind.COLOUR, e.metrics().quality(), "no CLIP model: the concept metric measures quality");
        // run.json holds every setting
        var json = e.toJson();
        assertEquals("0-4", json.at("/setups/2/window").asText());
        assertEquals("late", json.at("/setups/2/group").asText());
        assertEquals(64, json.at("/generation/width").asInt());
        assertEquals(e.pairs().get(0).pairs().sha256(), json.at("/pairs/0/sha256").asText());
    }

    @Test
    void aVaeFolderReplacesTheModelsAndCountsInRunJson() throws IOException {
        assertNull(read(documentedExample()).vae());
        Files.createDirectories(dir.resolve("taesd"));
        Files.writeString(dir.resolve("taesd/config.json"), "{\"_class_name\": \"AutoencoderTiny\"}");
        Experiment e = read(documentedExample().replace("# vae: taesd", "vae: taesd"));
        assertEquals(dir.resolve("taesd").toAbsolutePath(), e.vae());
        assertEquals("taesd", e.toJson().at("/vae").asText());
        assertEquals(64, e.toJson().at("/vae_sha256").asText().length());
        var bad = assertThrows(dev.stitch.kernels.UserError.class, () -> read(documentedExample().replace("# vae: taesd", "vae: nowhere")));
        assertTrue(bad.getMessage().contains("vae: no such file or folder"), bad.getMessage());
    }

    /** {@code model:} takes a Hub id as --model does: the snapshot its ref names in the local Hugging Face cache. */
    @Test
    void aHubIdNamesItsSnapshotInTheLocalCache() throws IOException {
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path repo = dir.resolve("hub").resolve("models--org--tiny");
        Files.createDirectories(repo.resolve("snapshots").resolve(commit).resolve("unet"));
        Files.writeString(repo.resolve("snapshots").resolve(commit).resolve("model_index.json"), "{}");
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), commit);
        var before = ExperimentFile.environment;
        ExperimentFile.environment = Map.of("HF_HUB_CACHE", dir.resolve("hub").toString())::get;
        try {
            Experiment e = read(documentedExample().replace("model: model", "model: org/tiny"));
            assertEquals(repo.resolve("snapshots").resolve(commit), e.model());
            assertEquals(e.model(), read(documentedExample().replace("model: model", "model: org/tiny@" + commit.substring(0, 8))).model());
            // a folder of that name beside the experiment file wins, as a path wins over a Hub id for --model
            Files.createDirectories(dir.resolve("org/tiny"));
            assertEquals(dir.resolve("org/tiny").toAbsolutePath(), read(documentedExample().replace("model: model", "model: org/tiny")).model());
            UserError missing = assertThrows(UserError.class, () -> read(documentedExample().replace("model: model", "model: org/other")));
            assertTrue(missing.getMessage().contains("model: org/other: not a folder here, and not in the Hugging Face cache")
                && missing.getMessage().contains("stitch pull org/other") && !missing.getMessage().contains("\n"), missing.getMessage());
        } finally {
            ExperimentFile.environment = before;
        }
    }

    @Test
    void mistakesNameTheirKey() throws IOException {
        String ok = documentedExample();
        String[][] cases = {
            {"steps: 10 ", "steps: ten ", "generation.steps: expected an integer"},
            {"window: 0-4", "window: 0-40", "setups[2].window: expected all or steps"},
            {"strengths: [4, 8]", "strengths: [4, 0]", "setups[0].strengths[1]: expected a finite, non-zero strength"},
            {"strengths: [4, 8]", "strenghts: [4, 8]", "setups[0].strenghts: unknown key"},
            {"operator: add  ", "operator: push  ", "setups[0].operator: expected add, ablate"},
            {"taps: top-3", "taps: best", "setups[3].taps: expected a tap name"},
            {"method: pca-diff", "method: lda", "setups[2].method: lda is not among the study's methods"},
            {"half: both ", "half: most ", "setups[0].half: expected both, cond or uncond"},
            {"colour: red ", "colour: teal ", "metrics.colour: expected a colour name"},
            {"pairs: pairs.jsonl", "pairs: nope.jsonl", "pairs: no such pairs file"},
            {"model: model", "model: nowhere", "model: no such file or folder"},
            {"  - name: early", "  - name: each-tap", "setups[1].name: setup name 'each-tap' is used twice"},
            {"methods: [mean-diff, pca-diff]", "methods: [mean-diff, pca]", "methods[1]: expected a vector method"},
            {"  # probe: snow", "  probe: snow", "metrics.probe: the probe needs clip"},
            {"  # probe: snow", "  judge: {url: \"http://localhost:8000/v1\", model: m, answr: score}", "metrics.judge.answr: unknown key"},
            {"  # probe: snow", "  judge: {url: \"http://localhost:8000/v1\", model: m, question: q, answer: maybe}", "metrics.judge.answer: expected yes-no or score"},
            {"  # probe: snow", "  judge: {url: \"http://localhost:8000/v1\", model: m}", "metrics.judge.question: missing"},
            {"  # probe: snow", "  judge: {url: \"localhost\", model: m, question: q}", "metrics.judge.url: expected an http(s) URL"},
            {"  # probe: snow", "  inception: nope.safetensors", "metrics.inception: no such file or folder"},
            {"  target: [\"a house\", \"a car\"]", "  target: []", "prompts.target: expected at least one prompt"},
        };
        for (String[] c : cases) {
            assertTrue(ok.contains(c[0]), "the example contains " + c[0]);
            UserError e = assertThrows(UserError.class, () -> read(ok.replaceFirst(java.util.regex.Pattern.quote(c[0]), c[1])), c[1]);
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
        UserError e = assertThrows(UserError.class, () -> read("model: [unclosed"));
        assertTrue(e.getMessage().contains("not valid YAML"), e.getMessage());
        e = assertThrows(UserError.class, () -> read("model: model\n"));
        assertTrue(e.getMessage().contains("generation: missing"), e.getMessage());
    }
}
