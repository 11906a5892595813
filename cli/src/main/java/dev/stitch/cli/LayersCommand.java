package dev.stitch.cli;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.LayerScores;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.PromptPairs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code stitch layers}: LayerNavigator's steerability score per tap (discriminability D + consistency C) from the same
 * pooled activations extraction reads, ranked, with the early / middle / late comparison (the UNet's down / mid / up
 * blocks) and a plot of the scores by depth.
 */
@Command(name = "layers", description = "Score taps for steering (LayerNavigator s = D + C) from prompt pairs.", sortOptions = false)
final class LayersCommand implements Callable<Integer> {
    @Mixin PairsOptions pairs;

    @Option(names = "--top", paramLabel = "K", defaultValue = "10", description = "rows of the ranked table (default ${DEFAULT-VALUE}; 0 = all)")
    int top;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "write the scores by depth as a PNG plot")
    Path plot;

    @Option(names = "--json", paramLabel = "FILE.json", description = "write every tap's D, C, s and group as JSON")
    Path json;

    @Mixin GenerationOptions gen;

    @Spec
    void spec(CommandSpec spec) { PairsOptions.seedDefaultsToZero(spec); }

    @Override
    public Integer call() {
        if (top < 0) throw new UserError("--top " + top + ": must be 0 (all) or more");
        if (plot != null && !plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new UserError("--plot " + plot + ": must end in .png");
        PromptPairs p = pairs.read();
        StableDiffusionPipeline pipe = gen.pipeline();
        GenerateRequest base = PairsOptions.baseRequest(gen, pipe, p);
        Backend ops = Devices.backend(gen.device);
        PairedActivations acts = pairs.capture(pipe, ops, base, p, false);
        Map<String, LayerScore> scores = acts.scores();
        System.out.print(LayerScores.table(scores, top));
        if (plot != null) {
            Png.write(plot, LayerScores.plot(scores, "LayerNavigator scores, " + p.size() + " pairs, steps " + pairs.atSteps), Map.of("software", "Stitch"));
            System.err.println("stitch: wrote " + plot);
        }
        if (json != null) {
            writeText(json, LayerScores.json(scores));
            System.err.println("stitch: wrote " + json);
        }
        return 0;
    }

    /** Writes a text file atomically (temp file + rename). */
    static void writeText(Path file, String text) {
        AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8));
    }
}
