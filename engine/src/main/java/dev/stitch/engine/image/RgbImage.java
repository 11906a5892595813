package dev.stitch.engine.image;

/**
 * An 8-bit RGB image: {@code rgb} holds rows top to bottom, pixels left to right, 3 bytes (R, G, B) each.
 * {@link Images} converts to and from the VAE's float tensors.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size " + width + "x" + height);
        if (rgb.length != 3L * width * height)
            throw new IllegalArgumentException(rgb.length + " bytes for a " + width + "x" + height + " RGB image");
    }
}
