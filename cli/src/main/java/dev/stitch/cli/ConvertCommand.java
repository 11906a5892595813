package dev.stitch.cli;

import dev.stitch.convert.DiffusersToLdm;
import dev.stitch.convert.LdmToDiffusers;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code stitch convert --from FILE --to DIR}: an original single-file SD 1.x or SD2 checkpoint (.safetensors or
 * PyTorch .ckpt) to a diffusers folder, written atomically and tensor by tensor. {@code --to-ldm} goes the other way.
 */
@Command(name = "convert", description = {
    "Convert an original single-file SD 1.x or SD2 checkpoint (.safetensors, .ckpt/.pt/.pth) into a diffusers model folder.",
    "With --to-ldm: a diffusers folder into one original checkpoint (.safetensors or .ckpt) plus its LDM yaml."})
final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "FILE", description = "the checkpoint (or, with --to-ldm, the diffusers folder)")
    Path from;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "the diffusers folder to write (or, with --to-ldm, the checkpoint file)")
    Path to;

    @Option(names = "--dtype", paramLabel = "fp32|fp16|bf16", description = "store weights in this type (default: as in the source)")
    String dtype;

    @Option(names = "--prediction", paramLabel = "epsilon|v", description = "the UNet's prediction type when the yaml or file name cannot tell")
    String prediction;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "CLIP tokenizer folder to copy (default: --config-from's, else tokenizer/ beside the checkpoint)")
    Path tokenizer;

    @Option(names = "--config", paramLabel = "YAML", description = "the checkpoint's LDM yaml (default: <name>.yaml beside it)")
    Path config;

    @Option(names = "--config-from", paramLabel = "DIR", description = "take the architecture from this diffusers folder's config "
        + "files and tokenizer/ (checked against the tensors, then copied), for checkpoints whose tensors do not say everything, such as text head counts")
    Path configFrom;

    @Option(names = "--force", description = "replace an existing target")
    boolean force;

    @Option(names = "--to-ldm", description = "reverse direction: diffusers folder -> original checkpoint")
    boolean toLdm;

    @Override
    public Integer call() {
        DType dt = dtype == null ? null : switch (dtype.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "f32", "float32" -> DType.F32;
            case "fp16", "f16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new UserError("--dtype: expected fp32, fp16 or bf16, got '" + dtype + "'");
        };
        // --force replaces the target whole: it must not be, or hold, what is read
        OutputPaths.check("--to", to, OutputPaths.input("--from", from), OutputPaths.input("--tokenizer", tokenizer),
            OutputPaths.input("--config", config), OutputPaths.input("--config-from", configFrom));
        var bar = ProgressBar.bytes();
        if (toLdm) {
            if (prediction != null || tokenizer != null || config != null || configFrom != null)
                throw new UserError("--prediction, --tokenizer, --config and --config-from apply to checkpoint -> diffusers only (not with --to-ldm)");
            DiffusersToLdm.checkTarget(to, force);
            var plan = DiffusersToLdm.plan(from);
            System.out.println("converting " + from + " -> " + to + " (original " + plan.config().layout().family() + " LDM layout, "
                + plan.tensors().size() + " tensors)");
            for (String w : plan.warnings()) System.err.println("stitch: warning: " + w);
            long bytes = DiffusersToLdm.write(plan, to, dt, force, bar);
            System.out.println("wrote " + to + " (" + ProgressBar.size(bytes) + ") and " + DiffusersToLdm.yamlFor(to).getFileName());
            return 0;
        }
        Prediction pred = prediction == null ? null : Prediction.parse(prediction);
        LdmToDiffusers.checkTarget(to, force);
        boolean tokenizerFromConfig = tokenizer == null && configFrom != null && java.nio.file.Files.isDirectory(configFrom.resolve("tokenizer"));
        Path tok = LdmToDiffusers.findTokenizer(from, tokenizerFromConfig ? configFrom.resolve("tokenizer") : tokenizer);
        if (tok == null)
            throw new UserError("no tokenizer: pass --tokenizer DIR (a CLIP tokenizer folder with vocab.json and merges.txt, such as the "
                + "tokenizer/ of any SD 1.x or SD2 diffusers model) or put a tokenizer/ folder next to " + from.getFileName());
        OutputPaths.check("--to", to, OutputPaths.input("the tokenizer", tok));   // also the one found beside the checkpoint
        var plan = LdmToDiffusers.plan(from, config, pred, configFrom);
        System.out.println("converting " + from + " (" + plan.checkpoint().format().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ")");
        for (String d : plan.decisions()) System.out.println("  " + d);
        for (String w : plan.warnings()) System.err.println("stitch: warning: " + w);
        var written = LdmToDiffusers.write(plan, to, dt, tok, force, bar);
        if (written.overflowed() > 0)
            System.err.println("stitch: warning: " + written.overflowed() + " weight value(s) exceed the range of " + dtype + " and became infinite");
        int n = plan.components().values().stream().mapToInt(java.util.List::size).sum();
        System.out.println("wrote " + to + " (" + n + " tensors, " + ProgressBar.size(written.bytes()) + ", "
            + (dt == null ? "dtypes as in the checkpoint" : dtype) + "; tokenizer from " + tok + ")");
        return 0;
    }
}
