package dev.stitch.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** What a new user and an adversary ran into with extract, layers, sweep and --steer: each stays fixed. */
class SteeringFindingsTest {
    @TempDir static Path dir;
    static Path model, pairs, file;

    @BeforeAll
    static void setUp() throws IOException {
        model = TinyModel.get();
        pairs = dir.resolve("pairs.jsonl");
        Files.writeString(pairs, "{\"positive\": \"a dog, snow\", \"negative\": \"a dog\"}\n{\"positive\": \"a cat, snow\", \"negative\": \"a cat\"}\n");
        file = extract("mid.safetensors", "unet.mid_block.attentions.0,unet.up_blocks.1.attentions.0", "mean-diff").path;
    }

    record Extracted(Path path, CliRunner.Result result) {}

    static Extracted extract(String name, String taps, String method) {
        Path out = dir.resolve(name);
        var r = CliRunner.run("extract", "--model", model.toString(), "--pairs", pairs.toString(), "--taps", taps, "--method", method,
            "--steps", "2", "--at-steps", "0", "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        return new Extracted(out, r);
    }

    static void oneLineError(CliRunner.Result r, String expected) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
    }

    static CliRunner.Result generate(String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "a dog", "--steps", "1", "--seed", "1",
            "--device", "cpu", "--out", dir.resolve("g.png").toString()));
        args.addAll(List.of(extra));
        return CliRunner.run(args.toArray(String[]::new));
    }

    @Test
    void nonFiniteStrengthsAreRefusedByFlag() {
        oneLineError(generate("--steer", file + "@NaN"), "--steer " + file + "@NaN: the strength after '@' must be a finite number");
        oneLineError(generate("--steer", file + "@Infinity"), "must be a finite number");
        oneLineError(generate("--steer", file + "@-Infinity"), "must be a finite number");
        oneLineError(generate("--steer", file + "@1e39"), "beyond float's range");
        oneLineError(generate("--steer", file.toString(), "--steer-tap", "unet.*=NaN"), "--steer-tap unet.*=NaN: the strength after '=' must be a finite number");
        oneLineError(generate("--steer", file.toString(), "--steer-tap", "unet.*=1e40"), "beyond float's range");
        assertFalse(Files.exists(dir.resolve("g.png")));
        assertEquals(0, generate("--steer", file + "@2.5").code());
    }

    @Test
    void sweepDefaultsSkipEmptyGroupsButAnExplicitEmptySetIsAnError() throws IOException {
        Path grid = dir.resolve("grid.png");
        String[] common = {"sweep", "--model", model.toString(), "--prompt", "a dog", "--steps", "1", "--seed", "2", "--device", "cpu",
            "--steer", file.toString(), "--strengths", "2", "--out", grid.toString()};
        var r = CliRunner.run(common);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("note: the steering file has no early taps"), r.err());
        String json = Files.readString(dir.resolve("grid.json"));
        assertTrue(json.contains("\"add / all (2 taps)\"") && json.contains("\"add / middle\"") && json.contains("\"add / late\"") && !json.contains("early"), json);

        List<String> args = new ArrayList<>(List.of(common));
        args.addAll(List.of("--layer-sets", "all,early"));
        oneLineError(CliRunner.run(args.toArray(String[]::new)), "--layer-sets early: the steering file has no early taps");
        args = new ArrayList<>(List.of(common));
        args.addAll(List.of("--strengths", "1,NaN"));
        oneLineError(CliRunner.run(args.toArray(String[]::new)), "--strengths NaN: must be a finite number");
    }

    @Test
    void extractAndLayersHelpSaysTheSeedIsZero() {
        for (String cmd : List.of("extract", "layers")) {
            var r = CliRunner.run(cmd, "--help");
            assertEquals(0, r.code(), r.err());
            String help = r.out().replaceAll("\\s+", " ");   // descriptions wrap
            assertTrue(help.matches(".*--seed=N noise seed [^=]*\\(default 0\\).*") && !help.contains("random, printed"), cmd + ":\n" + r.out());
        }
        assertTrue(CliRunner.run("sweep", "--help").out().contains("random, printed"), "sweep draws and prints a seed");
    }

    @Test
    void actExtractionPrintsAPerTapTable() {
        for (String method : List.of("act-mean", "act-linear", "mean-diff")) {
            var r = extract(method + ".safetensors", "unet.mid_block.attentions.0,unet.up_blocks.1.attentions.0", method).result;
            List<String> rows = r.out().lines().filter(l -> l.startsWith("unet.")).toList();
            assertEquals(2, rows.size(), method + ":\n" + r.out());
            assertTrue(r.out().lines().findFirst().orElseThrow().matches(method.startsWith("act") ? "tap\\s+channels\\s+mean\\|w-1\\|\\s+mean\\|b\\|\\s+score"
                : "tap\\s+channels\\s+\\|v\\|\\s+score"), r.out());
            for (String row : rows) for (String col : row.strip().split("\\s+")) if (!col.startsWith("unet.")) assertTrue(Double.isFinite(Double.parseDouble(col)), row);
        }
    }

    @Test
    void aliasedTapsAreExtractedOnceAndListedByTaps() {
        var e = extract("alias.safetensors", "unet.mid_block,unet.mid_block.resnets.1", "mean-diff");
        assertTrue(e.result().err().contains("note: unet.mid_block is the same tensor as unet.mid_block.resnets.1"), e.result().err());
        assertTrue(e.result().out().contains("unet.mid_block.resnets.1") && e.result().out().lines().noneMatch(l -> l.startsWith("unet.mid_block ")),
            e.result().out());
        var t = CliRunner.run("taps", "--model", model.toString());
        assertTrue(t.out().lines().anyMatch(l -> l.startsWith("unet.mid_block ") && l.endsWith("unet.mid_block.resnets.1")), t.out());
    }
}
