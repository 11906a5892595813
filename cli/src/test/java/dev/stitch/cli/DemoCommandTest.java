package dev.stitch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.image.Png;
import dev.stitch.steering.SteeringFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code stitch demo}, shortened to two steps and one strength: every file is written and the README has the numbers. */
class DemoCommandTest {
    @TempDir Path dir;

    @Test
    void writesTheWholeLoop() throws IOException {
        Path out = dir.resolve("demo");
        var r = CliRunner.run("demo", "--out", out.toString(), "--steps", "2", "--strengths", "4", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        for (String f : new String[] {"model/model_index.json", "pairs.jsonl", "winter.safetensors", "layers.txt", "layers.json", "layers.png",
            "sweep.png", "sweep.json", "README.md"}) assertTrue(Files.isRegularFile(out.resolve(f)), f);
        SteeringFile file = SteeringFile.read(out.resolve("winter.safetensors"));
        assertEquals(file.taps().size(), file.layerScores().size());
        JsonNode sweep = new ObjectMapper().readTree(out.resolve("sweep.json").toFile());
        assertEquals(5, sweep.get("rows").size(), "top3, early, middle, late, all");
        int steered = 0;
        for (JsonNode c : sweep.get("cells"))
            if (c.get("steered").asBoolean()) {
                steered++;
                assertTrue(c.get("pixel_rms_vs_unsteered").asDouble() > 0, "steering at strength 4 changes the image: " + c);
            }
        assertEquals(5, steered);
        String readme = Files.readString(out.resolve("README.md"));
        assertTrue(readme.contains("| top3 | 3 |") && readme.contains("Times:") && readme.contains("stitch extract"), readme);
        assertTrue(Png.read(out.resolve("sweep.png")).width() > 2 * 128);
        // the study: its two files, the summary's contract, finite numbers
        assertTrue(Files.isRegularFile(out.resolve("study/report.html")));
        JsonNode study = new ObjectMapper().readTree(out.resolve("study/summary.json").toFile());
        assertEquals(18, study.get("setups").size(), "10 single taps, 3 groups, top-3, all at 3 strengths, all with PCA");
        for (JsonNode s : study.get("setups")) {
            assertFalse(s.get("taps").isEmpty());
            for (String k : new String[] {"mean", "ci_low", "ci_high"}) assertTrue(s.get("effect").get(k).isNumber(), s.toString());
        }
        JsonNode c = study.get("layer_score_vs_effect");
        assertEquals(10, c.get("n").asInt());
        for (String k : new String[] {"spearman", "ci_low", "ci_high"}) assertTrue(c.get(k).isNumber() && Double.isFinite(c.get(k).asDouble()), c.toString());
        assertTrue(readme.contains("stitch study"), readme);
        // a second run reuses the model
        r = CliRunner.run("demo", "--out", out.toString(), "--steps", "1", "--strengths", "1", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("wrote the tiny"), r.err());
    }
}
