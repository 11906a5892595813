package dev.stitch.cli;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Schedulers;
import dev.stitch.eval.PromptPairs;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.Method;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.SteeringFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code stitch extract}: steering vectors from prompt pairs (docs/design.md §5), written as a steering file. */
@Command(name = "extract", description = "Extract steering vectors from prompt pairs into a .safetensors steering file.", sortOptions = false)
final class ExtractCommand implements Callable<Integer> {
    @Mixin PairsOptions pairs;

    @Option(names = "--method", paramLabel = "M", defaultValue = "mean-diff",
        description = "mean-diff, pca-diff, pca-center, probe, lda, act-linear or act-mean (default ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--per-step", description = "one vector per recorded step ([S, C] per tap) instead of one for the window")
    boolean perStep;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", description = "the steering file to write")
    Path out;

    @Mixin GenerationOptions gen;

    @Override
    public Integer call() {
        if (!out.getFileName().toString().endsWith(".safetensors")) throw new UserError("--out " + out + ": must end in .safetensors");
        Method m = Method.parse(method);
        PromptPairs p = pairs.read();
        GenerateRequest base = PairsOptions.baseRequest(gen, p);
        Backend ops = Devices.backend(gen.device);
        StableDiffusionPipeline pipe = gen.pipeline();
        PairedActivations acts = pairs.capture(pipe, ops, base, p, perStep);
        SteeringFile file = acts.extract(m, metadata(m, pipe, base, p, pairs, perStep, acts.scores()));
        file.write(out);
        System.err.println("stitch: wrote " + out + " (" + m.cliName + ", " + file.taps().size() + " taps)");
        printNorms(file);
        return 0;
    }

    /** The metadata of docs/design.md §7: how to apply the file by default, what it was made from, the layer scores. */
    static Map<String, String> metadata(Method m, StableDiffusionPipeline pipe, GenerateRequest base, PromptPairs p, PairsOptions o,
                                        boolean perStep, Map<String, LayerScore> scores) {
        Map<String, String> md = new LinkedHashMap<>();
        md.put(SteeringFile.METHOD, m.cliName);
        md.put(SteeringFile.OPERATOR, m.isTransport() ? "act" : "add");
        md.put(SteeringFile.STRENGTH, "1");
        md.put(SteeringFile.WINDOW, "all");
        md.put(SteeringFile.HALF, "both");
        md.putAll(SteeringFile.modelIdentity(pipe.source));
        md.put(SteeringFile.PROMPTS, p.sha256());
        md.put("pairs", Integer.toString(p.size()));
        md.put("taps", o.taps);
        md.put("at_steps", o.atSteps);
        md.put("per_step", Boolean.toString(perStep));
        md.put("extract_half", o.half);
        md.put("tokens", o.tokens);
        md.put("seed", Long.toString(base.seed()));
        md.put("steps", Integer.toString(base.steps()));
        md.put("guidance", Float.toString(base.guidance()));
        md.put("scheduler", base.scheduler() != null ? base.scheduler() : Schedulers.nameOf(pipe.schedulerConfig));
        int w = base.width() != null ? base.width() : pipe.defaultSize(), h = base.height() != null ? base.height() : pipe.defaultSize();
        md.put("width", Integer.toString(w));
        md.put("height", Integer.toString(h));
        md.put("negative_prompt", base.negative(0));
        md.put(SteeringFile.SCORES, SteeringFile.scoresJson(scores));
        return md;
    }

    private static void printNorms(SteeringFile f) {
        if (f.taps().values().iterator().next().vectors() == null) return;
        int w = f.taps().keySet().stream().mapToInt(String::length).max().orElse(3);
        Map<String, LayerScore> scores = f.layerScores();
        System.out.printf("%-" + w + "s  %8s  %10s  %8s%n", "tap", "channels", "|v|", "score");
        for (SteeringFile.TapVector v : f.taps().values()) {
            double n = 0;
            for (float x : v.vector(0)) n += (double) x * x;
            LayerScore s = scores.get(v.tap());
            System.out.printf(Locale.ROOT, "%-" + w + "s  %8d  %10.4g  %8.3f%n", v.tap(), v.channels(), Math.sqrt(n), s == null ? Double.NaN : s.score());
        }
    }
}
