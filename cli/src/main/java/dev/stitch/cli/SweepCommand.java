package dev.stitch.cli;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerSet;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringPlan;
import dev.stitch.steering.Sweep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code stitch sweep}: one prompt and seed generated under strengths × layer sets × operators of one steering file
 * ({@link Sweep}), as an image grid (rows: operator and layer set; columns: the unsteered baseline, then each
 * strength) and a JSON file describing every cell.
 */
@Command(name = "sweep", description = "Grid of images over steering strengths x layer sets x operators.", sortOptions = false)
final class SweepCommand implements Callable<Integer> {
    @Option(names = "--strengths", paramLabel = "LIST", defaultValue = "1,2,4", split = ",", description = "strengths, the columns (default ${DEFAULT-VALUE})")
    List<String> strengths;

    @Option(names = "--layer-sets", paramLabel = "LIST", split = ",",
        description = "all, early, middle, late, text, vae, topK (the K best-scored taps), single (each of the --top best alone), or a tap glob"
            + " (default: all, early, middle, late, each one the file has taps in)")
    List<String> layerSets;

    @Option(names = "--operators", paramLabel = "LIST", split = ",", description = "add, ablate, gated, clamp, act (default: the file's operator)")
    List<String> operators = new ArrayList<>();

    @Option(names = "--top", paramLabel = "K", defaultValue = "3", description = "how many best-scored taps 'single' steers one at a time (default ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--out", required = true, paramLabel = "GRID.png", description = "the grid image")
    Path out;

    @Option(names = "--json", paramLabel = "FILE.json", description = "the cells described (default: the grid's name with .json)")
    Path json;

    @Mixin GenerationOptions gen;

    @Mixin SteeringOptions steering;

    /** The library's parameters these flags set. */
    static final Map<String, String> FLAGS = Map.of("strengths", "--strengths", "layerSets", "--layer-sets", "operators", "--operators",
        "top", "--top", "prompts", "--prompt");

    @Override
    public Integer call() {
        if (!out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new UserError("--out " + out + ": must end in .png");
        if (steering.steer.size() != 1) throw new UserError("--steer: sweep takes exactly one steering file");
        if (steering.steer.get(0).contains("@")) throw new UserError("--steer " + steering.steer.get(0) + ": sweep takes strengths from --strengths, not '@'");
        if (steering.op != null) throw new UserError("--steer-op: sweep takes operators from --operators");
        if (!steering.tapStrengths.isEmpty()) throw new UserError("--steer-tap: sweep sets strengths itself (--strengths)");
        if (gen.prompts.size() != 1) throw new UserError("--prompt: sweep takes exactly one prompt");
        List<Float> columns = strengths.stream().map(s -> SteeringOptions.strength("--strengths " + s + ":", s)).toList();
        StableDiffusionPipeline pipe = gen.pipeline();
        GenerateRequest req = gen.request(pipe);
        Backend ops = Devices.backend(gen.device);
        SteeringPlan plan = steering.plans(pipe, req.width(), req.height(), req.steps(), req.guidance()).get(0);
        Path jsonOut = json != null ? json : out.resolveSibling(out.getFileName().toString().replaceAll("(?i)\\.png$", "") + ".json");
        return ParameterFlags.mapped(FLAGS, () -> {
            List<Operator> opList = operators.isEmpty() ? List.of(plan.operator()) : operators.stream().map(this::operator).toList();
            List<LayerSet> sets;
            if (layerSets != null) sets = LayerSet.parse(layerSets, plan.file(), top);
            else {
                sets = LayerSet.defaults(plan.file());
                for (String skipped : LayerSet.skippedDefaults(plan.file()))
                    System.err.println("stitch: note: the steering file has no " + skipped + " taps; the default layer sets skip '" + skipped + "'");
            }
            Sweep sweep = new Sweep(columns, sets, opList);
            System.err.println("stitch: sweep of " + opList.size() * sets.size() + " rows x " + columns.size() + " strengths, seed " + req.seed());
            Sweep.Result result = sweep.run(new StableDiffusion(pipe, ops), req, plan, steering.steer.get(0), (done, total, c) ->
                System.err.printf(Locale.ROOT, "  [%d/%d] %s / %s at %s: pixel RMS vs unsteered %.2f%n", done, total, c.operator().cliName,
                    c.layerSet().label(), Sweep.format(c.strength()), c.pixelRms()));
            result.write(out, jsonOut);
            System.err.println("stitch: wrote " + out);
            System.err.println("stitch: wrote " + jsonOut);
            return 0;
        });
    }

    private Operator operator(String name) {
        try {
            return Operator.parse(name.strip());
        } catch (UserError e) {
            throw new UserError("--operators " + name + ": expected add, ablate, gated, clamp or act", e);
        }
    }
}
