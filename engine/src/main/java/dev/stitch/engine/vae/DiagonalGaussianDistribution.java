package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * What {@code AutoencoderKL.encode} returns, as diffusers' DiagonalGaussianDistribution: the encoder's moments split
 * into mean and log-variance (clamped to [-30, 20]) and the standard deviation {@code exp(logvar / 2)}.
 */
public record DiagonalGaussianDistribution(Tensor moments, Tensor mean, Tensor logvar, Tensor std) {

    static DiagonalGaussianDistribution of(Backend ops, Tensor moments) {
        int half = moments.dim(1) / 2;
        Tensor mean = ops.slice(moments, 1, 0, half);
        // The moments are latent-sized (64× smaller than the image), so the clamp and exp run on the host.
        Tensor raw = ops.slice(moments, 1, half, 2 * half);
        float[] lv = ops.toHost(raw).clone(), sd = new float[lv.length];
        for (int i = 0; i < lv.length; i++) {
            lv[i] = Math.clamp(lv[i], -30f, 20f);
            sd[i] = (float) Math.exp(0.5f * lv[i]);
        }
        return new DiagonalGaussianDistribution(moments, mean, ops.fromHost(lv, raw.shape()), ops.fromHost(sd, raw.shape()));
    }

    /** {@code mean + std · noise}; noise is standard normal, shaped like the mean. */
    public Tensor sample(Ctx c, Tensor noise) { return c.ops().add(mean, c.ops().mul(std, noise)); }

    /** The most likely latent: the mean. */
    public Tensor mode() { return mean; }
}
