package dev.stitch.eval.image;

import dev.stitch.engine.image.Images;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An 8-bit RGB image, pixels row-major with interleaved channels (H·W·3, as numpy's HWC array of a PIL image): what
 * the evaluation models' preprocessing starts from.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image of " + width + "×" + height + " pixels");
        if (rgb.length != width * height * 3)
            throw new IllegalArgumentException("image of " + width + "×" + height + " needs " + width * height * 3 + " bytes, got " + rgb.length);
    }

    /** Channel {@code c} of pixel (x, y), 0..255. */
    public int at(int x, int y, int c) { return rgb[(y * width + x) * 3 + c] & 0xff; }

    /** The VAE's output images [B, 3, H, W] in [-1, 1] as diffusers turns them into pixels. */
    public static List<RgbImage> fromVae(Tensor images) {
        List<RgbImage> out = new ArrayList<>();
        for (byte[] hwc : Images.toUint8(images)) out.add(new RgbImage(images.dim(3), images.dim(2), hwc));
        return out;
    }

    /**
     * Reads a PNG or JPEG file as PIL's {@code Image.open(f).convert("RGB")} would for 8-bit files: alpha is dropped,
     * grey is repeated over the three channels, palettes are expanded.
     */
    public static RgbImage read(Path file) {
        BufferedImage im;
        try {
            im = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new UserError(file + ": cannot read the image (" + e.getMessage() + ")");
        }
        if (im == null) throw new UserError(file + ": not an image this program reads (expected PNG or JPEG)");
        int w = im.getWidth(), h = im.getHeight();
        byte[] rgb = new byte[w * h * 3];
        var raster = im.getRaster();
        boolean grey = im.getType() == BufferedImage.TYPE_BYTE_GRAY;   // getRGB would apply a gamma to grey
        int[] px = new int[raster.getNumBands()];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                if (grey) {
                    byte g = (byte) raster.getPixel(x, y, px)[0];
                    rgb[i] = rgb[i + 1] = rgb[i + 2] = g;
                } else {
                    int argb = im.getRGB(x, y);
                    rgb[i] = (byte) (argb >> 16);
                    rgb[i + 1] = (byte) (argb >> 8);
                    rgb[i + 2] = (byte) argb;
                }
            }
        return new RgbImage(w, h, rgb);
    }
}
