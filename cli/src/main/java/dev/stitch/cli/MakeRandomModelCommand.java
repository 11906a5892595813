package dev.stitch.cli;

import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code stitch make-random-model}: a random-weight model folder in diffusers layout. */
@Command(name = "make-random-model", description = "Write a random-weight model folder (diffusers layout) at a preset size.")
final class MakeRandomModelCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "NAME", description = "tiny, sd2-base, sd2-768, sd-turbo (sd2-base with SD-Turbo's scheduler: Euler, trailing) or tiny-turbo")
    String config;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new folder to create")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "weights seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "copy these tokenizer files (default: a built-in byte-level vocabulary)")
    Path tokenizer;

    @Option(names = "--vae-kind", paramLabel = "K", defaultValue = "kl",
        description = "kl: SD's AutoencoderKL; tiny: an AutoencoderTiny (TAESD's config; 12 channels for --config tiny) (default ${DEFAULT-VALUE})")
    String vaeKind;

    @Override
    public Integer call() {
        DType dt = switch (dtype) {
            case "fp32" -> DType.F32;
            case "fp16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new UserError("--dtype " + dtype + ": expected fp32, fp16 or bf16");
        };
        OutputPaths.check("--out", out, OutputPaths.input("--tokenizer", tokenizer));
        long t0 = System.nanoTime();
        RandomModel.write(config, VaeKind.parse("--vae-kind", vaeKind), out, seed, dt, tokenizer);
        System.err.printf("stitch: wrote %s model to %s (%.1f s)%n", config, out, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
