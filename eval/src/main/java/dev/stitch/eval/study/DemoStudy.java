package dev.stitch.eval.study;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.steering.PromptPairs;
import dev.stitch.eval.run.RunFolder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The small study {@code stitch demo} runs: the colour red as the concept (pairs "{subject}, bright red" vs
 * "{subject}"), measured offline by the colour share; ten UNet taps steered one at a time, by layer group, the best
 * three, and all of them with two methods. Written as an ordinary experiment file, so the demo's folder shows a
 * user exactly what to edit.
 */
public final class DemoStudy {
    private DemoStudy() {}

    public static final String FILE = "study.yaml", PAIRS = "pairs.jsonl";

    static final String TAPS = "unet.down_blocks.?.resnets.0,unet.mid_block.resnets.?,unet.up_blocks.?.resnets.0";

    /** The experiment file's text for {@code model} (as written in the file) at {@code steps} denoising steps. */
    public static String yaml(String model, int steps) {
        return """
            # The study `stitch demo` runs (see docs/study.md). Rerun it with: stitch study study.yaml --out .
            model: %s
            generation: {steps: %d, guidance: 7.5, seed: 0, seeds_per_prompt: 2}
            pairs: pairs.jsonl                 # "{subject}, bright red" vs "{subject}"
            capture:
              taps: "%s"
              batch: 6
            methods: [mean-diff, pca-diff]
            setups:
              - {name: each, taps: each, strength: 8}       # every tap alone: layer score vs effect
              - {name: early, taps: early, strength: 8}
              - {name: middle, taps: middle, strength: 8}
              - {name: late, taps: late, strength: 8}
              - {name: top3, taps: top-3, strength: 8}      # LayerNavigator's best three
              - {name: all, taps: all, strengths: [2, 4, 8]}
              - {name: all-pca, method: pca-diff, taps: all, strength: 8}
            prompts:
              target: ["a house", "a city street"]
              neutral: ["a bowl of fruit"]
            metrics:
              colour: red
            """.formatted(quoted(model), steps, TAPS);
    }

    /** A JSON string is a YAML double-quoted scalar: any path survives. */
    private static String quoted(String s) {
        try {
            return dev.stitch.eval.prompts.Jsonl.JSON.writeValueAsString(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The demo's prompt pairs: six subjects with and without "bright red". */
    public static PromptPairs pairs() {
        return PromptPairs.templated("{subject}, {concept}", List.of("a house", "a dog in a garden", "a city street", "a mountain lake",
            "a car", "a forest path"), List.of("bright red"), "", "demo study");
    }

    /**
     * Writes the experiment file and its pairs into {@code dir}, removing what an earlier demo's study left there
     * (the demo starts its study afresh, whatever settings the earlier one had). Returns the experiment file.
     */
    public static Path write(Path dir, String model, int steps) {
        try {
            Files.createDirectories(dir);
            for (String f : List.of(RunFolder.RUN_JSON, RunFolder.SCORES, RunFolder.REPORT, StudySummary.SUMMARY)) Files.deleteIfExists(dir.resolve(f));
            for (String d : List.of(RunFolder.IMAGES, Study.VECTORS)) deleteTree(dir.resolve(d));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dir, e);
        }
        AtomicFiles.write(dir.resolve(PAIRS), pairs().toJsonl().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(dir.resolve(FILE), yaml(model, steps).getBytes(StandardCharsets.UTF_8));
        return dir.resolve(FILE);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
