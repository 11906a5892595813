package dev.stitch.engine.image;

/**
 * An 8-bit RGB image: {@code rgb} holds rows top to bottom, pixels left to right, 3 bytes (R, G, B) each.
 * Converts to and from the float layouts the VAE works with, the way diffusers does.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size " + width + "x" + height);
        if (rgb.length != 3L * width * height)
            throw new IllegalArgumentException(rgb.length + " bytes for a " + width + "x" + height + " RGB image");
    }

    /**
     * From a [3, H, W] image with values in [0, 1] (the pipeline's {@code clamp(decoded / 2 + 0.5, 0, 1)}): each value
     * times 255 in float32, rounded half to even, as diffusers' {@code (image * 255).round().astype("uint8")}.
     * Values outside [0, 1] are clamped.
     */
    public static RgbImage fromUnitFloats(float[] chw, int width, int height) {
        int plane = width * height;
        if (chw.length != 3 * plane) throw new IllegalArgumentException(chw.length + " values for a 3x" + height + "x" + width + " image");
        byte[] rgb = new byte[3 * plane];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < plane; p++) {
                float v = Math.clamp(chw[c * plane + p], 0f, 1f) * 255f;
                rgb[3 * p + c] = (byte) (int) Math.rint(v);
            }
        return new RgbImage(width, height, rgb);
    }

    /** To a [3, H, W] image with values in [-1, 1], as diffusers prepares an img2img input: {@code 2 * (x / 255) - 1}. */
    public float[] toSignedFloats() {
        int plane = width * height;
        float[] chw = new float[3 * plane];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) chw[c * plane + p] = 2f * ((rgb[3 * p + c] & 0xff) / 255f) - 1f;
        return chw;
    }
}
