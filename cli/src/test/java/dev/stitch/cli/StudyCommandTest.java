package dev.stitch.cli;

import dev.stitch.eval.run.ScoresFile;
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

    /** Through Spark in local mode the study's scores, images and summary are those of the run in one process. */
    @Test
    void throughSparkTheSameStudy() throws IOException {
        Files.writeString(dir.resolve("pairs.jsonl"), "{\"positive\": \"a red house\", \"negative\": \"a house\"}\n"
            + "{\"positive\": \"a red car\", \"negative\": \"a car\"}\n");
        Path f = dir.resolve("study.yaml");
        Files.writeString(f, "model: " + TinyModel.get().toAbsolutePath() + "\n"
            + "generation: {steps: 1, seeds_per_prompt: 2}\n"
            + "pairs: pairs.jsonl\n"
            + "capture: {taps: \"unet.mid_block.resnets.?\"}\n"
            + "methods: mean-diff\n"
            + "setups: [{name: both, taps: all, strengths: [4], operator: add}]\n"
            + "prompts: {target: [\"a house\", \"a red barn\"], neutral: [\"a tree\"]}\n"
            + "metrics: {colour: red}\n");
        Path one = dir.resolve("one"), spark = dir.resolve("spark");
        var r = CliRunner.run("study", f.toString(), "--out", one.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        r = CliRunner.run("study", f.toString(), "--out", spark.toString(), "--device", "cpu", "--spark-master", "local[2,4]");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("6 items in this shard, 0 done earlier, 6 to do"), r.err());
        var a = ScoresFile.read(one.resolve("scores.jsonl")).lines();
        var b = ScoresFile.read(spark.resolve("scores.jsonl")).lines();
        assertEquals(a, b);
        assertEquals(6, Files.readAllLines(spark.resolve("scores.jsonl")).size(), "each item once");
        for (JsonNode line : a.values())
            for (JsonNode arm : line.get("arms")) {
                String img = arm.get("file").asText();
                assertArrayEquals(Files.readAllBytes(one.resolve(img)), Files.readAllBytes(spark.resolve(img)), img);
            }
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(one.resolve("summary.json").toFile()).get("setups"),
            json.readTree(spark.resolve("summary.json").toFile()).get("setups"));
    }
}
