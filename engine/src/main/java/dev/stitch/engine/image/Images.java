package dev.stitch.engine.image;

import dev.stitch.kernels.Tensor;

/**
 * Conversions between the VAE's image tensors ([B, 3, H, W] in [-1, 1]) and 8-bit RGB pixels (H·W·3, row-major
 * HWC), with diffusers' exact float32 arithmetic so that images match it byte for byte.
 */
public final class Images {
    private Images() {}

    /**
     * diffusers' postprocess: {@code clamp(x / 2 + 0.5, 0, 1)}, then numpy's {@code (v * 255).round()} (half to even)
     * in float32. {@code image} must be host data (a device backend's {@code toHost} first). One HWC array per row.
     */
    public static byte[][] toUint8(Tensor image) {
        checkImage(image);
        int b = image.dim(0), c = image.dim(1), hw = image.dim(2) * image.dim(3);
        float[] x = image.data();
        byte[][] out = new byte[b][hw * c];
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) {
                    float v = Math.clamp(x[(n * c + ch) * hw + p] / 2f + 0.5f, 0f, 1f);
                    out[n][p * c + ch] = (byte) (int) Math.rint(v * 255f);
                }
        return out;
    }

    /** The inverse for img2img, as diffusers' preprocess: {@code 2 · (v / 255) - 1} in float32 → [B, 3, H, W]. */
    public static Tensor fromUint8(byte[][] hwc, int height, int width) {
        int b = hwc.length, hw = height * width;
        float[] x = new float[b * 3 * hw];
        for (int n = 0; n < b; n++) {
            if (hwc[n].length != hw * 3)
                throw new IllegalArgumentException("image " + n + " has " + hwc[n].length + " bytes, expected " + height + "×" + width + "×3");
            for (int p = 0; p < hw; p++)
                for (int ch = 0; ch < 3; ch++)
                    x[(n * 3 + ch) * hw + p] = 2f * ((hwc[n][p * 3 + ch] & 0xff) / 255f) - 1f;
        }
        return Tensor.of(x, b, 3, height, width);
    }

    private static void checkImage(Tensor image) {
        if (image.rank() != 4 || image.dim(1) != 3)
            throw new IllegalArgumentException("expected an image tensor [B, 3, H, W], got " + java.util.Arrays.toString(image.shape()));
    }
}
