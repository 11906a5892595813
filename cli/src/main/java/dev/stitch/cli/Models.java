package dev.stitch.cli;

import dev.stitch.convert.Checkpoints;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.vae.Vae;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;

/** What {@code --model} names: a diffusers folder, or an original single-file SD 1.x or SD2 checkpoint converted in memory. */
final class Models {
    private Models() {}

    /**
     * Opens {@code model}. For a checkpoint, {@code tokenizer} (else a {@code tokenizer/} folder beside it) gives the
     * tokenizer files it lacks and {@code prediction} decides ε vs v where the file cannot tell; the converter's
     * decisions are printed as {@code stitch convert} prints them. {@code vae}, if not null, replaces the model's VAE.
     */
    /**
     * The VAE to run on its own: {@code vae}'s folder if given, else the VAE of {@code model} (its {@code vae/}
     * folder, or the VAE of a single-file checkpoint).
     */
    static Vae vae(Path model, Path vae) {
        if (vae != null) {
            if (!Files.isDirectory(vae))
                throw new UserError("--vae " + vae + ": " + (Files.exists(vae) ? "not a folder" : "no such folder") + " (expected a diffusers vae folder with config.json)");
            return Vae.load(vae);
        }
        if (model == null) throw new UserError("--model or --vae: one of them is needed (the VAE to use)");
        if (Files.isDirectory(model) && Files.isDirectory(model.resolve("vae"))) return Vae.load(model.resolve("vae"));
        return open(model, null, null, null).vae;
    }

    static StableDiffusionPipeline open(Path model, Path tokenizer, Prediction prediction, Path vae) {
        if (vae != null && !Files.isDirectory(vae))
            throw new UserError("--vae " + vae + ": " + (Files.exists(vae) ? "not a folder" : "no such folder") + " (expected a diffusers vae folder with config.json)");
        if (!Files.exists(model)) throw new UserError(model + ": no such model folder or checkpoint file");
        if (Files.isRegularFile(model) && !Checkpoints.isCheckpointFile(model))
            throw new UserError(model + ": neither a diffusers model folder nor a checkpoint (.safetensors, .ckpt, .pt, .pth)");
        if (!Checkpoints.isCheckpointFile(model)) {
            if (tokenizer != null)
                throw new UserError("--tokenizer is for single-file checkpoints; the model folder " + model + " has its own tokenizer/");
            return StableDiffusionPipeline.load(model, vae);
        }
        Checkpoints.Loaded l = Checkpoints.loadAsDiffusers(model, prediction, null, tokenizer);
        StableDiffusionPipeline pipe = Checkpoints.pipeline(model, l);   // a missing tokenizer fails before anything is printed
        for (String d : l.decisions()) System.err.println("stitch: " + model.getFileName() + ": " + d);
        for (String w : l.warnings()) System.err.println("stitch: warning: " + model.getFileName() + ": " + w);
        return vae == null ? pipe : pipe.withVae(vae);
    }
}
