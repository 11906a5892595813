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
