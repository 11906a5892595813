package dev.stitch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code stitch study}: a small study through the CLI, a rerun that finds it done, and user errors as one line with exit 2. */
class StudyCommandTest {
    @TempDir Path dir;

    @Test
    void runsResumesAndRefuses() throws IOException {
        Files.writeString(dir.resolve("pairs.jsonl"), "{\"positive\": \"a red house\", \"negative\": \"a house\"}\n"
            + "{\"positive\": \"a red car\", \"negative\": \"a car\"}\n");
        String yaml = "model: " + TinyModel.get().toAbsolutePath() + "\n"
            + "generation: {steps: 1, seeds_per_prompt: 1}\n"
            + "pairs: pairs.jsonl\n"
            + "capture: {taps: \"unet.mid_block.resnets.?\"}\n"
            + "methods: mean-diff\n"
            + "setups: [{name: both, taps: all, strengths: [2, 4], operator: add}]\n"
            + "prompts: {target: [\"a house\"]}\n"
            + "metrics: {colour: red}\n";
        Path f = dir.resolve("study.yaml");
        Files.writeString(f, yaml);
        Path out = dir.resolve("run");
        var r = CliRunner.run("study", f.toString(), "--out", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("setups").size());
        assertEquals("both@2", s.at("/setups/0/name").asText());
        assertTrue(Files.isRegularFile(out.resolve("report.html")));

        r = CliRunner.run("study", f.toString(), "--out", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("1 done earlier, 0 to do"), r.err());

        Files.writeString(f, yaml.replace("operator: add", "operator: ablate"));
        r = CliRunner.run("study", f.toString(), "--out", out.toString(), "--device", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("setups[0].operator: \"add\" vs \"ablate\""), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Files.writeString(f, yaml.replace("strengths: [2, 4]", "strengths: [2, x]"));
        r = CliRunner.run("study", f.toString(), "--out", out.toString(), "--device", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("setups[0].strengths[1]: expected a number"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
