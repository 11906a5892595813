package dev.stitch.steering.plot;

import dev.stitch.engine.image.RgbImage;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** A white RGB drawing surface (headless java.awt) that ends as an {@link RgbImage} for {@code Png.write}. */
final class Canvas {
    static { System.setProperty("java.awt.headless", "true"); }

    final BufferedImage image;
    final Graphics2D g;

    Canvas(int width, int height) {
        image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
    }

    /** Draws an RGB image scaled by an integer factor (nearest neighbour, so pixels stay sharp). */
    void drawImage(RgbImage img, int x, int y, int scale) {
        byte[] rgb = img.rgb();
        for (int r = 0; r < img.height(); r++)
            for (int c = 0; c < img.width(); c++) {
                int i = 3 * (r * img.width() + c);
                int argb = (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff);
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) image.setRGB(x + c * scale + dx, y + r * scale + dy, argb);
            }
    }

    RgbImage toImage() {
        g.dispose();
        int w = image.getWidth(), h = image.getHeight();
        byte[] rgb = new byte[3 * w * h];
        int[] px = image.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < px.length; i++) {
            rgb[3 * i] = (byte) (px[i] >> 16);
            rgb[3 * i + 1] = (byte) (px[i] >> 8);
            rgb[3 * i + 2] = (byte) px[i];
        }
        return new RgbImage(w, h, rgb);
    }
}
