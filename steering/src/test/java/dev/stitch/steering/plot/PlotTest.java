package dev.stitch.steering.plot;

import dev.stitch.engine.image.RgbImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class PlotTest {
    @AfterEach
    void resetFonts() { Labels.systemFonts = null; }

    /** Dark pixels in a region: text was drawn there. */
    static int dark(RgbImage img, int x0, int y0, int x1, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                int i = 3 * (y * img.width() + x);
                if ((img.rgb()[i] & 0xff) + (img.rgb()[i + 1] & 0xff) + (img.rgb()[i + 2] & 0xff) < 200) n++;
            }
        return n;
    }

    @Test
    void labelsRenderWithSystemFontsAndWithTheBitmapFont() {
        for (boolean system : new boolean[] {true, false}) {
            Labels.systemFonts = system ? null : false;
            Canvas c = new Canvas(200, 30);
            Labels.draw(c.g, "unet.mid_block 0.25", 4, 20, 13, Color.BLACK);
            int w = Labels.width(c.g, "unet.mid_block 0.25", 13);
            RgbImage img = c.toImage();
            assertTrue(dark(img, 0, 0, 200, 30) > 40, "text drawn (system fonts: " + system + ")");
            assertTrue(w > 60 && w < 200, "width " + w);
            assertEquals(0, dark(img, Math.min(199, 4 + w + 4), 0, 200, 30), "nothing drawn past the measured width");
        }
    }

    @Test
    void scorePlotMarksTheBestTap() {
        List<ScorePlot.Point> pts = new ArrayList<>();
        Random r = new Random(5);
        for (int i = 0; i < 30; i++)
            pts.add(new ScorePlot.Point("unet.tap" + i, i < 12 ? "early" : i < 15 ? "middle" : "late", r.nextDouble() * 4, r.nextDouble()));
        RgbImage img = ScorePlot.draw("scores", pts);
        assertEquals(ScorePlot.W, img.width());
        assertEquals(ScorePlot.H, img.height());
        assertTrue(dark(img, 0, 0, img.width(), ScorePlot.TOP) > 50, "title");
        // the plot area has coloured points: some pixel far from grey
        int coloured = 0;
        for (int i = 0; i < img.rgb().length; i += 3) {
            int a = img.rgb()[i] & 0xff, b = img.rgb()[i + 1] & 0xff, c = img.rgb()[i + 2] & 0xff;
            if (Math.max(a, Math.max(b, c)) - Math.min(a, Math.min(b, c)) > 100) coloured++;
        }
        assertTrue(coloured > 200, "coloured points: " + coloured);
        assertEquals(1, ScorePlot.niceStep(0.7), 1e-12);
        assertEquals(0.05, ScorePlot.niceStep(0.031), 1e-12);
    }

    @Test
    void gridPlacesEveryCellAndEnlargesSmallImages() {
        byte[] red = new byte[3 * 32 * 32], blue = new byte[3 * 32 * 32];
        for (int i = 0; i < 32 * 32; i++) { red[3 * i] = (byte) 255; blue[3 * i + 2] = (byte) 255; }
        RgbImage r = new RgbImage(32, 32, red), b = new RgbImage(32, 32, blue);
        RgbImage g = ImageGrid.draw("title", List.of("row one", "row two"), List.of("a", "b", "c"), new RgbImage[][] {{r, b, r}, {b, null, b}});
        assertTrue(g.width() >= 3 * 128 && g.height() >= 2 * 128, g.width() + "x" + g.height());
        int reds = 0, blues = 0;
        for (int i = 0; i < g.rgb().length; i += 3) {
            if ((g.rgb()[i] & 0xff) == 255 && g.rgb()[i + 2] == 0 && g.rgb()[i + 1] == 0) reds++;
            if ((g.rgb()[i + 2] & 0xff) == 255 && g.rgb()[i] == 0 && g.rgb()[i + 1] == 0) blues++;
        }
        assertEquals(2 * 128 * 128, reds);
        assertEquals(3 * 128 * 128, blues);
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.draw("t", List.of("x"), List.of("a", "b"), new RgbImage[][] {{r}}));
    }
}
