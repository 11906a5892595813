package dev.stitch.cli;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.PromptPairs;
import dev.stitch.steering.SteeringPlan;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The flags that say which activations of which prompt pairs extract and layers read (they share the capture). */
final class PairsOptions {
    @Option(names = "--pairs", required = true, paramLabel = "FILE", description = "prompt pairs: .jsonl {\"positive\",\"negative\"} lines, a two-column .csv, or a .json template set")
    Path pairs;

    @Option(names = "--taps", required = true, paramLabel = "GLOB[,GLOB]", description = "taps to read, e.g. 'unet.*.attentions.?,unet.mid_block' (see `stitch taps`)")
    String taps;

    @Option(names = "--at-steps", paramLabel = "LIST|RANGE", defaultValue = "all", description = "denoising steps recorded, e.g. 0 or 0-9 (default ${DEFAULT-VALUE}); the run stops after the last")
    String atSteps;

    @Option(names = "--half", paramLabel = "H", defaultValue = "cond", description = "CFG rows pooled: cond, uncond or both (their mean) (default ${DEFAULT-VALUE})")
    String half;

    @Option(names = "--tokens", paramLabel = "T", defaultValue = "all", description = "text-encoder taps: all (mean over 77 positions), last, eos, or positions I,J,... (default ${DEFAULT-VALUE})")
    String tokens;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "pairs per model call (default ${DEFAULT-VALUE}; larger batches give the same vectors, take more memory and are no faster on a CPU)")
    int batch;

    /** The library's parameters these flags (and generate's) set. */
    static final Map<String, String> FLAGS = Map.of("taps", "--taps", "steps", "--at-steps", "half", "--half", "tokens", "--tokens",
        "batch", "--batch", "method", "--method", "initImage", "--init-image", "initLatents", "--init-latents", "negativePrompts", "--negative-prompt");

    /** The pairs file, its errors told as {@code --pairs}'. */
    PromptPairs read() {
        try {
            return PromptPairs.read(pairs);
        } catch (UserError e) {
            throw new UserError("--pairs " + e.getMessage(), e);
        }
    }

    /**
     * extract and layers default the seed to 0 (pair i starts from the noise of seed + i), so the same inputs give
     * the same result; generate's flags, shared with them, say "random, printed". Their help says what they do.
     */
    static void seedDefaultsToZero(CommandSpec spec) {
        OptionSpec seed = spec.findOption("--seed");
        if (seed == null) throw new IllegalStateException("no --seed option");
        spec.remove(seed);
        spec.addOption(OptionSpec.builder(seed).description("noise seed of the first pair, as torch.manual_seed on CPU; pair i uses seed + i (default 0)").build());
    }

    /**
     * The generation settings every pair runs with: generate's flags without prompts. The seed defaults to 0 so that
     * the same inputs give the same result; pair i starts from the noise of seed + i.
     */
    static GenerateRequest baseRequest(GenerationOptions gen, StableDiffusionPipeline pipe, PromptPairs p) {
        if (!gen.prompts.isEmpty()) throw new UserError("--prompt: prompts come from --pairs here");
        if (gen.initImage != null) throw new UserError("--init-image: extraction runs text-to-image only");
        if (gen.seed == null) gen.seed = 0L;
        gen.prompts = List.of(p.pairs().get(0).positive());
        try {
            return gen.request(pipe);
        } finally {
            gen.prompts = List.of();
        }
    }

    PairedActivations.Options options(boolean perStep) {
        return ParameterFlags.mapped(FLAGS, () -> new PairedActivations.Options(StepSet.parse(atSteps), perStep, half(), tokens, batch));
    }

    private SteeringPlan.Half half() {
        try {
            return SteeringPlan.Half.parse(half);
        } catch (UserError e) {
            throw new UserError("--half " + half + ": expected cond, uncond or both", e);
        }
    }

    PairedActivations capture(StableDiffusionPipeline pipe, Backend ops, GenerateRequest base, PromptPairs p, boolean perStep) {
        return capture(pipe, ops, base, p, perStep, false);
    }

    /** As above; {@code incremental}: each tap captured with the earlier taps' transports applied (act-linear-incremental). */
    PairedActivations capture(StableDiffusionPipeline pipe, Backend ops, GenerateRequest base, PromptPairs p, boolean perStep, boolean incremental) {
        long t0 = System.nanoTime();
        boolean console = System.console() != null;
        PairedActivations.Options o = options(perStep);
        PairedActivations.Progress progress = (done, total) -> { if (console) System.err.printf("\r  pairs %d/%d%s", done, total, done == total ? "\n" : ""); };
        StableDiffusion sd = new StableDiffusion(pipe, ops);
        PairedActivations acts = ParameterFlags.mapped(FLAGS, () -> incremental ? PairedActivations.captureIncremental(sd, base, p, taps, o, progress)
            : PairedActivations.capture(sd, base, p, taps, o, progress));
        acts.aliasesSkipped().forEach((skipped, kept) ->
            System.err.println("stitch: note: " + skipped + " is the same tensor as " + kept + "; read once, as " + kept));
        System.err.printf("stitch: %d pairs, %d taps captured in %.1f s (%s backend)%n", p.size(), acts.taps().size(),
            (System.nanoTime() - t0) / 1e9, ops.name());
        return acts;
    }
}
