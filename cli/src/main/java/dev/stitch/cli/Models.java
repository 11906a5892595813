package dev.stitch.cli;

import dev.stitch.convert.Checkpoints;
import dev.stitch.engine.hub.HubCache;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.vae.Vae;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * What {@code --model} names: a diffusers folder, an original single-file SD 1.x or SD2 checkpoint converted in
 * memory, or a Hub id {@code org/name[@revision]} found in the local Hugging Face cache.
 */
final class Models {
    private Models() {}

    /** Where environment variables (HF_HUB_CACHE, HF_HOME, HF_TOKEN, HF_ENDPOINT) are read; tests point it at their own. */
    static Function<String, String> environment = System::getenv;

    /** The folder or file {@code model} names: itself when it exists, else a Hub id's snapshot in the cache. */
    static Path locate(Path model) {
        return model == null ? null : HubCache.fromEnvironment(environment).locate(model.toString());
    }

    /** Whether a component of the diffusers folder {@code dir} has weights in {@code variant}. */
    private static boolean hasVariant(Path dir, String variant) {
        for (String part : new String[] {"text_encoder", "unet", "vae"}) {
            try (Stream<Path> s = Files.list(dir.resolve(part))) {
                if (WeightFiles.candidates(s.map(p -> p.getFileName().toString()).toList()).containsKey(variant)) return true;
            } catch (IOException e) {
                // a missing component is the loader's to report
            }
        }
        return false;
    }

    /**
     * The VAE to run on its own: {@code vae}'s folder if given, else the VAE of {@code model} (its {@code vae/}
     * folder, or the VAE of a single-file checkpoint).
     */
    static Vae vae(Path model, Path vae) {
        if (vae != null) return Vae.load(checkVae(vae));
        if (model == null) throw new UserError("--model or --vae: one of them is needed (the VAE to use)");
        Path located = locate(model);
        if (Files.isDirectory(located) && Files.isDirectory(located.resolve("vae"))) return Vae.load(located.resolve("vae"));
        return open(model, null, null, null, null).vae;
    }

    private static Path checkVae(Path vae) {
        if (!Files.isDirectory(vae))
            throw new UserError("--vae " + vae + ": " + (Files.exists(vae) ? "not a folder" : "no such folder") + " (expected a diffusers vae folder with config.json)");
        return vae;
    }

    /**
     * Opens {@code model}. For a checkpoint, {@code tokenizer} (else a {@code tokenizer/} folder beside it) gives the
     * tokenizer files it lacks and {@code prediction} decides ε vs v where the file cannot tell; the converter's
     * decisions are printed as {@code stitch convert} prints them. {@code vae}, if not null, replaces the model's VAE;
     * {@code variant} (e.g. fp16; null: the default weights) picks the weight files of a diffusers folder.
     */
    static StableDiffusionPipeline open(Path model, Path tokenizer, Prediction prediction, Path vae, String variant) {
        if (vae != null) checkVae(vae);
        Path named = model;
        model = locate(model);
        if (!Files.exists(model)) throw new UserError(model + ": no such model folder or checkpoint file");
        if (Files.isRegularFile(model) && !Checkpoints.isCheckpointFile(model))
            throw new UserError(model + ": neither a diffusers model folder nor a checkpoint (.safetensors, .ckpt, .pt, .pth)");
        if (!Checkpoints.isCheckpointFile(model)) {
            if (tokenizer != null)
                throw new UserError("--tokenizer is for single-file checkpoints; the model folder " + model + " has its own tokenizer/");
            if (!model.equals(named) && variant != null && !hasVariant(model, variant))
                throw new UserError(named + ": the cached snapshot has no " + variant + " weights; run 'stitch pull " + named + " --variant " + variant + "'");
            StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, vae, variant);
            if (!model.equals(named)) System.err.println("stitch: " + named + ": " + model + " (Hugging Face cache)");
            return pipe;
        }
        if (variant != null) throw new UserError("--variant is for diffusers model folders; " + model + " is a single-file checkpoint");
        Checkpoints.Loaded l = Checkpoints.loadAsDiffusers(model, prediction, null, tokenizer);
        StableDiffusionPipeline pipe = Checkpoints.pipeline(model, l);   // a missing tokenizer fails before anything is printed
        for (String d : l.decisions()) System.err.println("stitch: " + model.getFileName() + ": " + d);
        for (String w : l.warnings()) System.err.println("stitch: warning: " + model.getFileName() + ": " + w);
        return vae == null ? pipe : pipe.withVae(vae);
    }
}
