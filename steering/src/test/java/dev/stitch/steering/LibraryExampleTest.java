package dev.stitch.steering;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The program of {@code docs/library.md}, run on the built-in tiny model: the page shows the lines between the
 * {@code BEGIN}/{@code END} markers below, and a test here fails when the two differ, so the page always compiles.
 */
class LibraryExampleTest {
    @TempDir static Path dir;

    record Outcome(GenerateResult plain, Tensor mid, SteeringFile vector, GenerateResult steered) {}

    static Outcome example(Path modelDir, Path outDir) {
        // BEGIN example
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelDir);   // a diffusers folder
        Backend ops = Backends.byName("cpu");
        GenerateRequest request = GenerateRequest.of("a fox in a field", 8, 42);  // prompt, steps, seed

        // 1. Generate and write a PNG.
        GenerateResult plain = pipe.generate(request, ops, Taps.NONE, StableDiffusionPipeline.Progress.NONE);
        Png.write(outDir.resolve("fox.png"), new RgbImage(plain.width(), plain.height(), plain.pixels()[0]),
            Map.of("prompt", request.prompts().getFirst()));

        // 2. Read activations: the mid block's spatial mean at every step, per CFG half.
        var run = pipe.generateWithCache(request, ops, "unet.mid_block", Reduction.MEAN);
        Tensor mid = run.cache().get("unet.mid_block", 3, CfgHalf.COND);          // [1, C] at step 3

        // 3. A steering vector from contrastive prompts (mean of the pair differences, per tap).
        PairedActivations acts = PairedActivations.capture(pipe, ops, request,
            List.of("a fox in a field, winter, snow", "a cabin, winter, snow"),
            List.of("a fox in a field, summer", "a cabin, summer"),
            "unet.mid_block,unet.up_blocks.1", PairedActivations.Options.defaults(), PairedActivations.Progress.NONE);
        SteeringFile winter = acts.extract(Method.MEAN_DIFF, Map.of());
        winter.write(outDir.resolve("winter.safetensors"));                       // what `stitch extract` writes

        // 4. Steer: add 4 × the vector at both taps, every step, both CFG halves.
        HookedTaps taps = pipe.hookedTaps(ops, pipe.width(request), pipe.height(request));
        GenerateResult steered;
        try (var steering = SteeringPlan.defaults(winter, 4f).register(taps)) {
            steered = pipe.generate(request, ops, taps, StableDiffusionPipeline.Progress.NONE);
        }
        // END example
        return new Outcome(plain, mid, winter, steered);
    }

    @Test
    void theLibraryPageRunsAsWritten() throws IOException {
        Path model = dir.resolve("tiny"), out = Files.createDirectories(dir.resolve("out"));
        RandomModel.write("tiny", model, 7, DType.F32, null);
        Outcome o = example(model, out);

        RgbImage png = Png.read(out.resolve("fox.png"));
        assertEquals(o.plain().width(), png.width());
        assertArrayEquals(o.plain().pixels()[0], png.rgb());

        assertEquals(2, o.mid().rank());
        float[] mid = o.mid().data();
        assertTrue(Arrays.stream(box(mid)).allMatch(Double::isFinite) && Arrays.stream(box(mid)).anyMatch(v -> v != 0), "a real capture");

        SteeringFile back = SteeringFile.read(out.resolve("winter.safetensors"));
        assertEquals(List.of("unet.mid_block", "unet.up_blocks.1"), List.copyOf(back.taps().keySet()));
        assertArrayEquals(o.vector().taps().get("unet.mid_block").vector(0), back.taps().get("unet.mid_block").vector(0));

        assertFalse(Arrays.equals(o.plain().pixels()[0], o.steered().pixels()[0]), "steering changed the image");
    }

    @Test
    void theLibraryPageShowsThisProgram() throws IOException {
        String page = Files.readString(Path.of("../docs/library.md"));
        int start = page.indexOf("```java\n") + "```java\n".length();
        String shown = page.substring(start, page.indexOf("```", start));
        String source = Files.readString(Path.of("src/test/java/dev/stitch/steering/LibraryExampleTest.java"));
        String program = source.substring(source.indexOf("// BEGIN example\n") + "// BEGIN example\n".length(), source.indexOf("        // END example"));
        assertEquals(normalized(program), normalized(shown), "docs/library.md and LibraryExampleTest.example differ");
    }

    private static String normalized(String code) {
        return code.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce("", (a, b) -> a + b + "\n");
    }

    private static double[] box(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
