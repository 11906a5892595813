package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * What {@code AutoencoderKL.encode} returns, as diffusers' DiagonalGaussianDistribution: the encoder's moments split
 * into mean and log-variance (clamped to [-30, 20]) and the standard deviation {@code exp(logvar / 2)}. The log-variance
 * and standard deviation are computed when first asked for, so a shape-only run (the tap catalog) reads no numbers.
 */
public final class DiagonalGaussianDistribution {
    private final Backend ops;
    private final Tensor moments, mean;
    private Tensor logvar, std;

    private DiagonalGaussianDistribution(Backend ops, Tensor moments, Tensor mean) {
        this.ops = ops;
        this.moments = moments;
        this.mean = mean;
    }

    static DiagonalGaussianDistribution of(Backend ops, Tensor moments) {
        return new DiagonalGaussianDistribution(ops, moments, ops.slice(moments, 1, 0, moments.dim(1) / 2));
    }

    public Tensor moments() { return moments; }

    public Tensor mean() { return mean; }

    public Tensor logvar() {
        if (logvar == null) spread();
        return logvar;
    }

    public Tensor std() {
        if (std == null) spread();
        return std;
    }

    // The moments are latent-sized (64× smaller than the image), so the clamp and exp run on the host.
    private void spread() {
        int half = moments.dim(1) / 2;
        Tensor raw = ops.slice(moments, 1, half, 2 * half);
        float[] lv = ops.toHost(raw).clone(), sd = new float[lv.length];
        for (int i = 0; i < lv.length; i++) {
            lv[i] = Math.clamp(lv[i], -30f, 20f);
            sd[i] = (float) Math.exp(0.5f * lv[i]);
        }
        logvar = ops.fromHost(lv, raw.shape());
        std = ops.fromHost(sd, raw.shape());
    }

    /** {@code mean + std · noise}; noise is standard normal, shaped like the mean. */
    public Tensor sample(Ctx c, Tensor noise) { return c.ops().add(mean, c.ops().mul(std(), noise)); }

    /** The most likely latent: the mean. */
    public Tensor mode() { return mean; }
}
