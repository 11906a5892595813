package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * diffusers' AutoencoderTiny, TAESD ({@code madebyollin/taesd}): a small distilled encoder and decoder for SD's
 * latent space, about 2.4 M parameters. Deterministic (no distribution), and its latents are already on the UNet's
 * scale ({@code scaling_factor} 1.0). Weight names and taps are diffusers' ({@code vae.encoder.layers.<i>},
 * {@code vae.decoder.layers.<i>}).
 */
public final class AutoencoderTiny implements Vae {
    public final AutoencoderTinyConfig config;
    private final Weights weights;
    final EncoderTiny encoder;
    final DecoderTiny decoder;

    /** Builds the model; every tensor of {@code w} must be used, so a mismatched file is caught here. */
    public AutoencoderTiny(AutoencoderTinyConfig config, Weights w) {
        this.config = config;
        this.weights = w;
        encoder = new EncoderTiny(w.pp("encoder"), config);
        decoder = new DecoderTiny(w.pp("decoder"), config);
        Set<String> unused = w.unused();
        if (!unused.isEmpty())
            throw new UserError(w.origin() + ": " + unused.size() + " tensor(s) that an AutoencoderTiny with this config.json does not have: "
                + String.join(", ", unused.stream().limit(10).toList()) + (unused.size() > 10 ? ", ..." : ""));
    }

    /** Reads a diffusers AutoencoderTiny folder: {@code config.json} and the f32 weights, or the fp16 variant if only that exists. */
    public static AutoencoderTiny load(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a folder (expected a diffusers VAE folder)");
        return new AutoencoderTiny(AutoencoderTinyConfig.load(dir.resolve("config.json")), Vae.weightsIn(dir, null));
    }

    /** x [B, in_channels, H, W] in [-1, 1] → latents [B, latent_channels, H / downscale, W / downscale]. */
    public Tensor encode(Ctx c, Tensor x) { return encoder.forward(c, x); }

    /** Deterministic: {@code sample} is not drawn from, as diffusers' {@code retrieve_latents} takes {@code .latents}. */
    @Override public Tensor encode(Ctx c, Tensor x, TorchGenerator sample) { return encode(c, x); }

    @Override public Tensor decode(Ctx c, Tensor z) { return decoder.forward(c, z); }

    @Override public VaeKind kind() { return VaeKind.TINY; }

    @Override public int inChannels() { return config.inChannels(); }

    @Override public int latentChannels() { return config.latentChannels(); }

    @Override public float scalingFactor() { return config.scalingFactor(); }

    @Override public int downscale() { return config.downscale(); }

    /** The first and last levels run at full resolution. */
    @Override
    public long largestActivation(long batch, int width, int height) {
        int widest = Math.max(Math.max(config.encoderBlockOutChannels()[0], config.decoderBlockOutChannels()[0]),
            Math.max(config.inChannels(), config.outChannels()));
        return Math.multiplyExact(Math.multiplyExact(batch, widest), Math.multiplyExact((long) width, height));
    }

    @Override public void unloadWeights() { weights.unloadPages(); }
}
