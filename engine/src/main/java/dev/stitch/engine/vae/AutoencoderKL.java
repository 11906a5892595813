package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * diffusers' AutoencoderKL, the SD VAE: {@code encode} gives the latent distribution, {@code decode} maps latents back
 * to images in [-1, 1]. The scaling by {@code scaling_factor} is the pipeline's job, as in diffusers.
 */
public final class AutoencoderKL implements Vae {

    public final VaeConfig config;
    private final Weights weights;
    final Encoder encoder;
    final Decoder decoder;
    final Conv2d quantConv, postQuantConv;   // null when the config turns them off
    final String quantConvTap, postQuantConvTap;

    /** Builds the model; every tensor of {@code w} must be used, so a mismatched file is caught here. */
    public AutoencoderKL(VaeConfig config, Weights w) {
        this.config = config;
        this.weights = w;
        int l = config.latentChannels();
        encoder = new Encoder(w.pp("encoder"), config);
        decoder = new Decoder(w.pp("decoder"), config);
        quantConv = config.useQuantConv() ? new Conv2d(w.pp("quant_conv"), 2 * l, 2 * l, 1, 1, 0) : null;
        postQuantConv = config.usePostQuantConv() ? new Conv2d(w.pp("post_quant_conv"), l, l, 1, 1, 0) : null;
        quantConvTap = w.pp("quant_conv").tapName();
        postQuantConvTap = w.pp("post_quant_conv").tapName();
        Set<String> unused = w.unused();
        if (!unused.isEmpty())
            throw new UserError(w.origin() + ": " + unused.size() + " tensor(s) that an AutoencoderKL with this config.json does not have: "
                + String.join(", ", unused.stream().limit(10).toList()) + (unused.size() > 10 ? ", ..." : ""));
    }

    /** Reads a diffusers VAE folder: {@code config.json} and the default weights (else the only variant; see {@link WeightFiles}). */
    public static AutoencoderKL load(Path vaeDir) { return load(vaeDir, null); }

    /** Reads a diffusers VAE folder: {@code config.json} and the weights of {@code variant} (null: the default). */
    public static AutoencoderKL load(Path vaeDir, String variant) {
        if (!Files.isDirectory(vaeDir)) throw new UserError(vaeDir + ": not a folder (expected a diffusers VAE folder)");
        return new AutoencoderKL(VaeConfig.load(vaeDir.resolve("config.json")), Vae.weightsIn(vaeDir, variant));
    }

    @Override public VaeKind kind() { return VaeKind.KL; }

    @Override public int inChannels() { return config.inChannels(); }

    @Override public int latentChannels() { return config.latentChannels(); }

    @Override public float scalingFactor() { return config.scalingFactor(); }

    /** The mean, or with {@code sample} one draw {@code mean + std · randn} (see {@link Vae#encode(Ctx, Tensor, TorchGenerator)}). */
    @Override
    public Tensor encode(Ctx c, Tensor x, TorchGenerator sample) {
        if (sample == null) return c.ops().slice(moments(c, x), 1, 0, config.latentChannels());   // the mean, no host read
        DiagonalGaussianDistribution d = encode(c, x);
        return d.sample(c, c.ops().fromHost(sample.randn(Math.toIntExact(d.mean().numel())), d.mean().shape()));
    }

    /** x [B, in_channels, H, W] in [-1, 1], H and W multiples of 2^(levels-1) → the latent distribution. */
    public DiagonalGaussianDistribution encode(Ctx c, Tensor x) { return DiagonalGaussianDistribution.of(c.ops(), moments(c, x)); }

    /** The encoder's output [B, 2·latent_channels, h, w] (mean, then log-variance) that {@link #encode} splits. */
    public Tensor moments(Ctx c, Tensor x) {
        Tensor h = encoder.forward(c, x);
        if (quantConv != null) h = c.tap(quantConvTap, TapLayout.NCHW, quantConv.forward(c, h));
        return h;
    }

    @Override
    public Tensor decode(Ctx c, Tensor z) {
        if (postQuantConv != null) z = c.tap(postQuantConvTap, TapLayout.NCHW, postQuantConv.forward(c, z));
        return decoder.forward(c, z);
    }

    @Override public int downscale() { return 1 << (config.blockOutChannels().length - 1); }

    /** The widest block at each resolution, the encoder's input and the decoder's output. */
    @Override
    public long largestActivation(long batch, int width, int height) {
        int[] channels = config.blockOutChannels();
        long largest = Math.multiplyExact(Math.multiplyExact(batch, Math.max(config.inChannels(), config.outChannels())),
            Math.multiplyExact((long) width, height));
        for (int i = 0; i < channels.length; i++)
            largest = Math.max(largest, Math.multiplyExact(Math.multiplyExact(batch, channels[i]), Math.multiplyExact((long) width >> i, height >> i)));
        return largest;
    }

    @Override public void unloadWeights() { weights.unloadPages(); }
}
