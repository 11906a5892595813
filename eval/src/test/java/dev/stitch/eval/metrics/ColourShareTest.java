package dev.stitch.eval.metrics;

import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The colour share against java.awt's HSV conversion on random pixels, and on images with a known red share. */
class ColourShareTest {
    @Test
    void matchesAwtHsvOnRandomPixels() {
        SplittableRandom rng = new SplittableRandom(3);
        for (String name : ColourShare.NAMED.keySet()) {
            ColourShare c = ColourShare.named(name);
            int agree = 0, hits = 0;
            for (int i = 0; i < 20000; i++) {
                int r = rng.nextInt(256), g = rng.nextInt(256), b = rng.nextInt(256);
                float[] hsv = Color.RGBtoHSB(r, g, b, null);
                double d = Math.abs(hsv[0] * 360 - c.hue()) % 360;
                boolean ref = hsv[2] >= c.minValue() && hsv[1] >= c.minSaturation() && hsv[1] > 0 && Math.min(d, 360 - d) <= c.tolerance();
                boolean got = c.matches(r, g, b);
                if (ref == got) agree++;
                if (got) hits++;
            }
            // float rounding in awt can flip a pixel lying exactly on a threshold; nothing else may differ
            assertTrue(agree >= 19990, name + ": " + agree);
            assertTrue(hits > 1000, name + " matches some random pixels: " + hits);
        }
    }

    @Test
    void shareOfAKnownImage() {
        int w = 10, h = 10;
        byte[] px = new byte[3 * w * h];
        for (int i = 0; i < w * h; i++) {
            boolean red = i < 37;
            px[3 * i] = (byte) (red ? 200 : 30);
            px[3 * i + 1] = (byte) (red ? 20 : 90);
            px[3 * i + 2] = (byte) (red ? 40 : 200);
        }
        RgbImage img = new RgbImage(w, h, px);
        assertEquals(0.37, ColourShare.named("red").score(img), 1e-12);
        assertEquals(0.63, ColourShare.named("blue").score(img), 1e-12);
        assertEquals(0.0, ColourShare.named("green").score(img), 1e-12);
        assertThrows(UserError.class, () -> ColourShare.named("teal"));
        assertThrows(UserError.class, () -> new ColourShare("x", 400, 30, 0.3, 0.2));
    }
}
