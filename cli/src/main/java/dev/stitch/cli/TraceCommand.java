package dev.stitch.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapPattern;
import dev.stitch.engine.taps.TraceWriter;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/**
 * {@code stitch trace}: runs a generation as {@code generate} does and streams the values of the chosen taps into one
 * safetensors file, one tensor per (tap, step, CFG half) named {@code TAP/step{k}/{cond|uncond}}; taps called outside
 * denoising (text encoder, VAE) have no step: {@code TAP/{cond|uncond}} (docs/taps.md, "Trace files").
 */
@Command(name = "trace", description = "Generate as 'generate' does and record the values at taps into a safetensors file.",
    sortOptions = false)
final class TraceCommand implements Callable<Integer> {
    @Mixin GenerationOptions gen;

    @Option(names = "--taps", required = true, paramLabel = "GLOB[,GLOB]", description = "taps to record, e.g. 'unet.*.attn2,unet.mid_block' ('stitch taps' lists them)")
    String taps;

    @Option(names = "--at-steps", defaultValue = "all", paramLabel = "LIST|RANGE", description = "denoising steps to record (0-based), e.g. 0,10-19,49 (default ${DEFAULT-VALUE}); text encoder and VAE taps are always recorded")
    String atSteps;

    @Option(names = "--reduce", defaultValue = "none", paramLabel = "none|mean", description = "none: full values; mean: [n, C] mean over positions (default ${DEFAULT-VALUE})")
    String reduce;

    @Option(names = "--half", defaultValue = "both", paramLabel = "cond|uncond|both", description = "CFG half whose rows are recorded (default ${DEFAULT-VALUE})")
    String half;

    @Mixin SteeringOptions steerOptions;   // the trace records the steered values

    @Option(names = "--out", required = true, paramLabel = "F.safetensors", description = "the trace file, written atomically when the run ends")
    Path out;

    @Override
    public Integer call() {
        if (!out.getFileName().toString().endsWith(".safetensors")) throw new UserError("--out " + out + ": must end in .safetensors");
        if (Files.isDirectory(out)) throw new UserError("--out " + out + ": is a folder, expected a .safetensors file name");
        OutputPaths.check("--out", out, gen.inputs(steerOptions));
        Reduction reduction = switch (reduce) {
            case "none" -> Reduction.NONE;
            case "mean" -> Reduction.MEAN;
            default -> throw new UserError("--reduce " + reduce + ": expected none or mean");
        };
        CfgHalf[] halves = switch (half) {
            case "cond" -> new CfgHalf[] {CfgHalf.COND};
            case "uncond" -> new CfgHalf[] {CfgHalf.UNCOND};
            case "both" -> CfgHalf.values();
            default -> throw new UserError("--half " + half + ": expected cond, uncond or both");
        };
        TapPattern pattern = TapPattern.of(taps);
        StableDiffusionPipeline pipe = gen.pipeline();
        GenerateRequest req = gen.request(pipe);
        StepSet steps;
        try {
            steps = StepSet.parse(atSteps).within(req.steps());
        } catch (UserError e) {
            throw new UserError("--at-steps: " + e.getMessage());
        }
        if (!req.guided() && halves.length == 1 && halves[0] == CfgHalf.UNCOND)
            throw new UserError("--half uncond: guidance " + req.guidance() + " <= 1 runs no unconditional pass");

        int w = req.width(), h = req.height();
        TapCatalog catalog = pipe.tapCatalog(w, h);
        List<String> chosen = catalog.resolve(pattern);      // a typo fails here, before anything runs
        if (req.initImage() == null && chosen.stream().allMatch(t -> t.startsWith("vae.encoder.") || t.equals("vae.quant_conv")))
            throw new UserError("--taps " + taps + ": only VAE encoder taps, and the VAE encoder runs only with --init-image");
        Backend ops = Devices.backend(gen.device);
        HookedTaps hooked = new HookedTaps(ops, catalog);
        var plans = steerOptions.plans(pipe, w, h, req.steps(), req.guidance());

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", gen.model.toString());
        meta.put("prompts", json(req.prompts()));
        meta.put("negative_prompts", json(IntStream.range(0, req.batch()).mapToObj(req::negative).toList()));
        meta.put("steps", Integer.toString(req.steps()));
        meta.put("seed", Long.toString(req.seed()));
        meta.put("guidance", Float.toString(req.guidance()));
        meta.put("scheduler", req.scheduler().label);
        meta.put("width", Integer.toString(w));
        meta.put("height", Integer.toString(h));
        meta.put("taps", taps);
        meta.put("at_steps", steps.toString());
        meta.put("reduce", reduction.toString());
        meta.put("half", half);
        if (!steerOptions.steer.isEmpty()) meta.put("steer", json(steerOptions.steer));

        System.err.println("stitch: seed " + req.seed() + ", " + ops.name() + " backend, tracing " + chosen.size() + " tap(s)"
            + (plans.isEmpty() ? "" : ", " + plans.size() + " steering file(s)"));
        // steering first: hooks run in registration order, so the trace sees the values the model continues with
        try (var steering = SteeringOptions.register(plans, hooked);
             var trace = new TraceWriter(out, meta);
             var capture = hooked.register(pattern, trace.capture(reduction).steps(steps).halves(halves))) {
            pipe.generate(req, ops, hooked, ProgressBar.steps());
            if (trace.size() == 0)
                throw new UserError("--taps " + taps + ": nothing was recorded (no chosen tap was called at the steps asked for)");
            int n = trace.size();
            trace.commit();
            System.err.printf("stitch: wrote %s (%d tensors, %.1f MB)%n", out, n, Files.size(out) / 1e6);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return 0;
    }

    private static String json(List<String> values) {
        try {
            return new ObjectMapper().writeValueAsString(values);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
