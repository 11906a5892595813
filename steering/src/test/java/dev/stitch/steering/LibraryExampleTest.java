package dev.stitch.steering;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.Editor;
import dev.stitch.engine.taps.Reduction;
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

    record Outcome(GenerateResult plain, Tensor mid, SteeringFile vector, GenerateResult steered, GenerateResult muted) {}

    static Outcome example(Path modelDir, Path outDir) {
        // BEGIN example
        StableDiffusion sd = StableDiffusion.load(modelDir, Backends.byName("cpu"));   // a diffusers folder, on the CPU
        GenerateRequest request = sd.request("a fox in a field").steps(8).seed(42).build();   // the rest: the model's defaults

        // 1. Generate and write a PNG.
        GenerateResult plain = sd.generate(request);
        Png.write(outDir.resolve("fox.png"), new RgbImage(plain.width(), plain.height(), plain.pixels()[0]),
            Map.of("prompt", request.prompts().getFirst()));

        // 2. Read activations: the mid block's spatial mean at every step, per CFG half.
        var run = sd.runWithCache(request, "unet.mid_block", Reduction.MEAN);
        Tensor mid = run.cache().get("unet.mid_block", 3, CfgHalf.COND);          // [1, C] at step 3

        // 3. A steering vector from contrastive prompts (mean of the pair differences, per tap).
        PairedActivations acts = PairedActivations.capture(sd, request,
            List.of("a fox in a field, winter, snow", "a cabin, winter, snow"),
            List.of("a fox in a field, summer", "a cabin, summer"),
            "unet.mid_block,unet.up_blocks.1", PairedActivations.Options.defaults(), PairedActivations.Progress.NONE);
        SteeringFile winter = acts.extract(Method.MEAN_DIFF, Map.of());
        winter.write(outDir.resolve("winter.safetensors"));                       // what `stitch extract` writes

        // 4. Steer: add 4 × the vector at both taps, every step, both CFG halves, for the length of the try block.
        GenerateResult steered;
        try (var steering = SteeringPlan.defaults(winter, 4f).register(sd.taps())) {
            steered = sd.generate(request);
        }

        // 5. Your own hook: silence every cross-attention during the first 4 steps.
        Editor mute = (tap, x, ctx) -> ctx.step() < 4 ? ctx.ops().scale(x, 0f) : x;
        GenerateResult muted;
        try (var hook = sd.hooks("unet.*.attn2", mute)) {
            muted = sd.generate(request);
        }
        // END example
        sd.close();
        return new Outcome(plain, mid, winter, steered, muted);
    }

    /** The page's sweep: the file {@link #example} wrote, at two strengths, over its layer sets, two operators. */
    static Sweep.Result sweepExample(Path modelDir, Path outDir) {
        // BEGIN sweep
        StableDiffusion sd = StableDiffusion.load(modelDir, Backends.byName("cpu"));
        SteeringFile winter = SteeringFile.read(outDir.resolve("winter.safetensors"));   // or `stitch extract`'s file
        GenerateRequest request = sd.request("a fox in a field").steps(8).seed(42).build();

        // Rows: each operator on all taps, then the early / middle / late ones the file has; columns: the strengths.
        Sweep sweep = new Sweep(List.of(4f, 8f), LayerSet.defaults(winter), List.of(Operator.ADD, Operator.ABLATE));
        Sweep.Result grid = sweep.run(sd, request, SteeringPlan.defaults(winter, null), "winter", Sweep.Progress.NONE);
        grid.write(outDir.resolve("sweep.png"), outDir.resolve("sweep.json"));   // what `stitch sweep` writes
        for (Sweep.Cell cell : grid.cells())
            System.out.printf("%s / %s at %s: pixel RMS %.2f%n", cell.operator().cliName, cell.layerSet().label(), cell.strength(), cell.pixelRms());
        // END sweep
        sd.close();
        return grid;
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

        Sweep.Result grid = sweepExample(model, out);
        assertEquals(List.of("add / all (2 taps)", "add / middle", "add / late", "ablate / all (2 taps)", "ablate / middle", "ablate / late"),
            grid.rowLabels(), "early is skipped: the file has no early taps");
        assertEquals(6 * 2, grid.cells().size());
        assertArrayEquals(o.plain().pixels()[0], grid.baseline().rgb(), "column 0 is the unsteered image");
        assertTrue(grid.cells().stream().anyMatch(c -> c.pixelRms() > 0), "steering changed some cell");
        RgbImage sheet = Png.read(out.resolve("sweep.png"));
        assertTrue(sheet.width() > 3 * 128 && sheet.height() > 6 * 128, sheet.width() + "x" + sheet.height());
        assertTrue(Files.readString(out.resolve("sweep.json")).contains("\"layer_set\" : \"middle\""));
        assertFalse(Arrays.equals(o.plain().pixels()[0], o.muted().pixels()[0]), "the hook changed the image");
    }

    @Test
    void theLibraryPageShowsThisProgram() throws IOException {
        String page = Files.readString(Path.of("../docs/library.md"));
        assertEquals(normalized(program("example")), normalized(block(page, 0)), "docs/library.md and LibraryExampleTest.example differ");
        int sweep = page.indexOf("\n## A sweep from Java");
        assertTrue(sweep > 0, "docs/library.md has a section '## A sweep from Java'");
        assertEquals(normalized(program("sweep")), normalized(block(page, sweep)), "docs/library.md's sweep and LibraryExampleTest.sweepExample differ");
    }

    /** The first ```java block of the page after {@code from}. */
    private static String block(String page, int from) {
        int start = page.indexOf("```java\n", from) + "```java\n".length();
        return page.substring(start, page.indexOf("```", start));
    }

    /** The lines of this file between {@code // BEGIN name} and {@code // END name}. */
    private static String program(String name) throws IOException {
        String source = Files.readString(Path.of("src/test/java/dev/stitch/steering/LibraryExampleTest.java"));
        String begin = "// BEGIN " + name + "\n";
        return source.substring(source.indexOf(begin) + begin.length(), source.indexOf("        // END " + name));
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
