package dev.stitch.engine.vae;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * What a pipeline needs of its VAE, whichever class a {@code vae/} folder holds: images in [-1, 1] to latents and
 * back. Latents here are the VAE's own; the pipeline multiplies by {@link #scalingFactor} after encoding and divides
 * before decoding, as diffusers does for every VAE.
 */
public sealed interface Vae permits AutoencoderKL, AutoencoderTiny {
    String COMPONENT = "vae";
    String WEIGHTS = "diffusion_pytorch_model.safetensors", WEIGHTS_FP16 = "diffusion_pytorch_model.fp16.safetensors";

    /** Reads a diffusers VAE folder, AutoencoderKL or AutoencoderTiny as its {@code config.json}'s {@code _class_name} says. */
    static Vae load(Path dir) { return load(dir, null); }

    /** As {@link #load(Path)}, with the weights of {@code variant} (e.g. fp16; null: the default, see {@link WeightFiles}). */
    static Vae load(Path dir, String variant) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a folder (expected a diffusers VAE folder with config.json)");
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) throw new UserError(dir + ": no config.json (not a diffusers VAE folder)");
        JsonNode root = JsonFiles.readObject(configFile);
        return build(configFile, root, () -> weightsIn(dir, variant));   // the config is checked before the weights are looked for
    }

    /** The VAE {@code configFile} describes, on weights {@code w} (which it must use up). */
    static Vae build(Path configFile, Weights w) {
        return build(configFile, JsonFiles.readObject(configFile), () -> w);
    }

    private static Vae build(Path configFile, JsonNode root, Supplier<Weights> weights) {
        String origin = configFile.toString();
        return switch (VaeKind.ofClassName(origin, new JsonConfig(origin, root).string("_class_name", VaeKind.KL.className))) {
            case KL -> {
                VaeConfig config = VaeConfig.parse(origin, root);
                yield new AutoencoderKL(config, weights.get());
            }
            case TINY -> {
                AutoencoderTinyConfig config = AutoencoderTinyConfig.parse(origin, root);
                yield new AutoencoderTiny(config, weights.get());
            }
        };
    }

    /** The weights of a VAE folder: the f32 file, or the fp16 variant if only that exists. */
    /** The weights of a VAE folder: the default file, else the only variant, or {@code variant}'s (see {@link WeightFiles}). */
    static Weights weightsIn(Path dir, String variant) {
        return Weights.of(COMPONENT, SafeTensors.open(WeightFiles.find(dir, variant)));
    }

    VaeKind kind();

    /** Image channels (3). */
    int inChannels();

    int latentChannels();

    /** What the pipeline multiplies encoder latents by, and divides latents by before {@link #decode}. */
    float scalingFactor();

    /** Pixels per latent position along each side. */
    int downscale();

    /**
     * Images x [B, in_channels, H, W] in [-1, 1] → the VAE's latents [B, latent_channels, H / downscale, W / downscale],
     * not yet scaled. AutoencoderKL: the distribution's mean, or with {@code sample} a draw from it (one
     * {@code randn} of the latents' size from {@code sample}, as diffusers' {@code latent_dist.sample(generator)});
     * AutoencoderTiny: its encoder's output, deterministic ({@code sample} is not drawn from, as in diffusers).
     */
    Tensor encode(Ctx c, Tensor x, TorchGenerator sample);

    /** z [B, latent_channels, h, w] (already divided by the scaling factor) → images [B, out_channels, H, W], unclamped. */
    Tensor decode(Ctx c, Tensor z);

    /**
     * The number of values of the largest activation encoding or decoding {@code batch} images of {@code width} ×
     * {@code height} holds; {@link ArithmeticException} when it exceeds a long.
     */
    long largestActivation(long batch, int width, int height);

    /** Drops this model's mapped weight pages from memory until its next use ({@link Weights#unloadPages}). */
    void unloadWeights();
}
