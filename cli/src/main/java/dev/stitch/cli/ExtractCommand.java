package dev.stitch.cli;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.Method;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.PromptPairs;
import dev.stitch.steering.SteeringFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code stitch extract}: steering vectors from prompt pairs (docs/design.md §5), written as a steering file. */
@Command(name = "extract", description = "Extract steering vectors from prompt pairs into a .safetensors steering file.", sortOptions = false)
final class ExtractCommand implements Callable<Integer> {
    @Mixin PairsOptions pairs;

    @Option(names = "--method", paramLabel = "M", defaultValue = "mean-diff",
        description = "mean-diff, pca-diff, pca-center, probe, lda, act-linear, act-linear-incremental (one capture per tap) or act-mean (default ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--per-step", description = "one vector per recorded step ([S, C] per tap) instead of one for the window")
    boolean perStep;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", description = "the steering file to write")
    Path out;

    @Mixin GenerationOptions gen;

    @Spec
    void spec(CommandSpec spec) { PairsOptions.seedDefaultsToZero(spec); }

    @Override
    public Integer call() {
        if (!out.getFileName().toString().endsWith(".safetensors")) throw new UserError("--out " + out + ": must end in .safetensors");
        Method m = ParameterFlags.mapped(PairsOptions.FLAGS, () -> Method.parse(method));
        PromptPairs p = pairs.read();
        StableDiffusionPipeline pipe = gen.pipeline();
        GenerateRequest base = PairsOptions.baseRequest(gen, pipe, p);
        Backend ops = Devices.backend(gen.device);
        PairedActivations acts = pairs.capture(pipe, ops, base, p, perStep, m.isIncremental());
        SteeringFile file = acts.extract(m);
        file.write(out);
        System.err.println("stitch: wrote " + out + " (" + m.cliName + ", " + file.taps().size() + " taps)");
        System.out.print(file.table());
        return 0;
    }
}
