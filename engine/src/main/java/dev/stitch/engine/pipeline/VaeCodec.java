package dev.stitch.engine.pipeline;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.InputFiles;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.engine.taps.ModelCall;
import dev.stitch.engine.taps.TapContext;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.vae.Vae;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A VAE on its own, as the pipeline uses it: latents (as {@code generate --save-latents} writes them, on the UNet's
 * scale) decoded into images, and images encoded into such latents. Decoding divides by the VAE's
 * {@code scaling_factor} first and encoding multiplies by it after, as diffusers' pipelines do, so the same latents
 * can be compared through different decoders. Files: tensor {@value #LATENTS} [B, C, h, w] in, tensor
 * {@value #DECODED} [B, 3, H, W] (the VAE's output before clamping and conversion to pixels) out.
 */
public final class VaeCodec {
    public static final String LATENTS = "latents", DECODED = "decoded";

    private final Vae vae;
    private final Backend ops;
    private final Taps taps;

    public VaeCodec(Vae vae, Backend ops) { this(vae, ops, Taps.NONE); }

    /** {@code taps} sees the VAE's module outputs ({@code vae.decoder.*}, {@code vae.encoder.*}). */
    public VaeCodec(Vae vae, Backend ops, Taps taps) {
        this.vae = vae;
        this.ops = ops;
        this.taps = taps;
    }

    /** Latents [B, latent_channels, h, w] on the UNet's scale → the VAE's output [B, 3, h·f, w·f], unclamped, on the host. */
    public Tensor decode(Tensor latents) {
        int[] s = latents.shape();
        if (s.length != 4 || s[1] != vae.latentChannels() || s[0] < 1 || s[2] < 1 || s[3] < 1)
            throw new UserError("tensor '" + LATENTS + "' has shape " + Arrays.toString(s) + ", expected [B, " + vae.latentChannels()
                + ", h, w] (this " + vae.kind().className + " has " + vae.latentChannels() + " latent channels)");
        float[] z = latents.data().clone();
        float sf = vae.scalingFactor();
        for (int i = 0; i < z.length; i++) {
            if (!Float.isFinite(z[i])) throw new UserError("tensor '" + LATENTS + "' has non-finite values (NaN or infinity)");
            z[i] /= sf;
        }
        Tensor raw = vae.decode(ctx(s[0]), ops.fromHost(z, s));
        Tensor host = Tensor.of(ops.toHost(raw).clone(), raw.shape());
        vae.unloadWeights();
        return host;
    }

    /**
     * Images [B, 3, H, W] in [-1, 1], H and W multiples of the VAE's downscale → latents on the UNet's scale, on the
     * host. {@code sampleSeed} null: deterministic (AutoencoderKL's mean, AutoencoderTiny's encoder output); otherwise
     * AutoencoderKL draws one sample with {@code torch.manual_seed(sampleSeed)}'s generator.
     */
    public Tensor encode(Tensor images, Long sampleSeed) {
        int[] s = images.shape();
        int f = vae.downscale();
        if (s.length != 4 || s[1] != vae.inChannels() || s[0] < 1)
            throw new UserError("images of shape " + Arrays.toString(s) + ", expected [B, " + vae.inChannels() + ", H, W]");
        if (s[2] % f != 0 || s[3] % f != 0 || s[2] == 0 || s[3] == 0)
            throw new UserError("images of " + s[3] + "x" + s[2] + " pixels: width and height must be positive multiples of " + f
                + " (the VAE's downscale)");
        if (sampleSeed != null && vae.kind() == VaeKind.TINY)
            throw new UserError("an AutoencoderTiny has no latent distribution to sample from: its latents are deterministic");
        TorchGenerator gen = sampleSeed == null ? null : new TorchGenerator(sampleSeed);
        Tensor z = vae.encode(ctx(s[0]), ops.fromHost(images.data().clone(), s), gen);
        float[] out = ops.toHost(z).clone();
        float sf = vae.scalingFactor();
        for (int i = 0; i < out.length; i++) out[i] *= sf;
        vae.unloadWeights();
        return Tensor.of(out, z.shape());
    }

    /**
     * Decodes the latents of {@code latentsFile} into PNGs ({@code png.apply(i)} for row i, with {@code text} chunks)
     * and, if {@code rawOut} is not null, the unclamped output as tensor {@value #DECODED}. Returns the output.
     */
    public Tensor decodeFile(Path latentsFile, IntFunction<Path> png, Path rawOut, Map<String, String> text) {
        Tensor raw;
        try {
            raw = decode(readLatents(latentsFile));
        } catch (UserError e) {
            throw e.getMessage().startsWith(latentsFile.toString()) ? e : new UserError(latentsFile + ": " + e.getMessage());
        }
        byte[][] pixels = Images.toUint8(raw);
        for (int i = 0; i < pixels.length; i++)
            Png.write(png.apply(i), new RgbImage(raw.dim(3), raw.dim(2), pixels[i]), text);
        if (rawOut != null) new SafeTensorsWriter().metadata(describe()).add(DECODED, raw, dev.stitch.kernels.DType.F32).write(rawOut);
        return raw;
    }

    /** Encodes the PNGs {@code pngs} (all one size) into tensor {@value #LATENTS} of {@code out}, one row each. */
    public Tensor encodeFiles(List<Path> pngs, Path out, Long sampleSeed) {
        if (pngs.isEmpty()) throw new UserError("no images to encode");
        byte[][] rows = new byte[pngs.size()][];
        int width = 0, height = 0;
        for (int i = 0; i < rows.length; i++) {
            RgbImage img = Png.read(InputFiles.regular(pngs.get(i)));
            if (i == 0) {
                width = img.width();
                height = img.height();
            } else if (img.width() != width || img.height() != height)
                throw new UserError(pngs.get(i) + ": " + img.width() + "x" + img.height() + " pixels, but " + pngs.getFirst() + " is "
                    + width + "x" + height + " (the images are encoded as one batch)");
            rows[i] = img.rgb();
        }
        Tensor latents;
        try {
            latents = encode(Images.fromUint8(rows, height, width), sampleSeed);
        } catch (UserError e) {
            throw new UserError(pngs.getFirst() + ": " + e.getMessage());
        }
        Map<String, String> meta = describe();
        meta.put("latents", sampleSeed != null ? "a sample, seed " + sampleSeed : vae.kind() == VaeKind.KL ? "the mean" : "the encoder's output");
        new SafeTensorsWriter().metadata(meta).add(LATENTS, latents, dev.stitch.kernels.DType.F32).write(out);
        return latents;
    }

    /** Tensor {@value #LATENTS} of {@code file}, as {@code generate --save-latents} writes it. */
    public static Tensor readLatents(Path file) {
        SafeTensors st = SafeTensors.open(InputFiles.regular(file));
        if (!st.contains(LATENTS)) throw new UserError(file + ": no tensor named '" + LATENTS + "' (found " + st.names() + ")");
        SafeDType dt = st.entry(LATENTS).dtype();
        if (dt != SafeDType.F32 && dt != SafeDType.F16 && dt != SafeDType.BF16 && dt != SafeDType.F64)
            throw new UserError(file + ": tensor '" + LATENTS + "' is " + dt + ", expected floating point");
        return Tensor.of(st.floats(LATENTS), st.entry(LATENTS).intShape());
    }

    private Ctx ctx(int batch) { return new Ctx(ops, taps, ModelCall.outside(TapContext.Rows.cond(batch))); }

    private Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("vae", vae.kind().className);
        m.put("scaling_factor", Float.toString(vae.scalingFactor()));
        return m;
    }
}
