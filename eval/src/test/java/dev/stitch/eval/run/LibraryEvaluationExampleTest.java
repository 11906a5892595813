package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The evaluation program of {@code docs/library.md} ("Evaluating from Java"), run on the built-in tiny model: the page
 * shows the lines between the {@code BEGIN}/{@code END} markers below, and a test fails when the two differ.
 */
class LibraryEvaluationExampleTest {
    static final String HEADING = "## Evaluating from Java";

    static JsonNode example(Path modelDir, Path promptFile, Path steeringFile, Path inceptionFile, Path referenceDir,
                            Path cacheDir, Path runDir) throws IOException {
        // BEGIN example
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelDir);
        Backend ops = Backends.byName("cpu");
        SteeringFile winter = SteeringFile.read(steeringFile);

        EvalSettings settings = EvalSettings.builder(promptFile, runDir)         // prompts: .csv, .jsonl or .txt
            .generation(EvalSettings.Generation.defaults().withSteps(8))
            .steer(steeringFile, SteeringPlan.defaults(winter, 4f))              // a setup besides the baseline
            .metrics(Metric.FID, Metric.KID)
            .inception(inceptionFile).referenceImages(referenceDir).featureCache(cacheDir)
            .build();                                                            // a SettingError names the parameter
        Evaluation.Result result = new Evaluation(pipe, ops, settings).run();   // run it again to resume
        JsonNode summary = new ObjectMapper().readTree(result.runDir().resolve("summary.json").toFile());
        double fid = summary.path("setups").path("winter.safetensors@4.0").path("fid").asDouble();
        // END example
        return summary;
    }

    @Test
    void theLibraryPageRunsAsWritten(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("tiny");
        RandomModel.write("tiny", model, 7, DType.F32, null);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        TapCatalog.Entry tap = pipe.tapCatalog(pipe.defaultSize(), pipe.defaultSize()).entries().stream()
            .filter(e -> e.name().equals("unet.mid_block")).findFirst().orElseThrow();
        float[] v = new float[tap.channels()];
        Random r = new Random(5);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        Path steering = dir.resolve("winter.safetensors");
        new SteeringFile(Map.of(), Map.of(tap.name(), new SteeringFile.TapVector(tap.name(), new float[][] {v}, null))).write(steering);
        Path prompts = dir.resolve("prompts.txt");
        Files.writeString(prompts, "a fox in a field\na cabin in the woods\n");
        Path reference = Files.createDirectories(dir.resolve("reference"));
        for (int i = 0; i < 3; i++) {
            byte[] rgb = new byte[48 * 48 * 3];
            r.nextBytes(rgb);
            Png.write(reference.resolve("ref" + i + ".png"), new RgbImage(48, 48, rgb), Map.of());
        }
        Path inception = Path.of("src/test/resources/dev/stitch/eval/inception/tiny_fid_inception.safetensors");
        Path run = dir.resolve("run");

        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        JsonNode summary;
        try {
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            summary = example(model, prompts, steering, inception, reference, dir.resolve("cache"), run);
            assertEquals(2, summary.get("items_done").asInt());
            for (String setup : new String[] {"baseline", "winter.safetensors@4.0"}) {
                double fid = summary.get("setups").get(setup).get("fid").asDouble();
                assertTrue(Double.isFinite(fid) && fid > 0, setup + ": fid " + fid);
            }
            example(model, prompts, steering, inception, reference, dir.resolve("cache"), run);
        } finally {
            System.setErr(err);
        }
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("2 done earlier, 0 to do"), log.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theLibraryPageShowsThisProgram() throws IOException {
        String page = Files.readString(Path.of("../docs/library.md"));
        int section = page.indexOf(HEADING);
        assertTrue(section >= 0, "docs/library.md has no section '" + HEADING + "'");
        int start = page.indexOf("```java\n", section) + "```java\n".length();
        String shown = page.substring(start, page.indexOf("```", start));
        String source = Files.readString(Path.of("src/test/java/dev/stitch/eval/run/LibraryEvaluationExampleTest.java"));
        String program = source.substring(source.indexOf("// BEGIN example\n") + "// BEGIN example\n".length(), source.indexOf("        // END example"));
        assertEquals(normalized(program), normalized(shown), "docs/library.md and LibraryEvaluationExampleTest.example differ");
    }

    private static String normalized(String code) {
        return code.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce("", (a, b) -> a + b + "\n");
    }
}
