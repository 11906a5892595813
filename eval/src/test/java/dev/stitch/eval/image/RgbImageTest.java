package dev.stitch.eval.image;

import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RgbImageTest {
    @TempDir Path tmp;

    @Test
    void readsRgbRgbaAndGreyPngsAsPilConvertRgb() throws IOException {
        BufferedImage rgb = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        BufferedImage rgba = new BufferedImage(3, 2, BufferedImage.TYPE_INT_ARGB);
        BufferedImage grey = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) {
                int r = 40 * x + 7, g = 100 + 50 * y, b = 255 - 30 * x - y;
                rgb.setRGB(x, y, r << 16 | g << 8 | b);
                rgba.setRGB(x, y, (60 * y) << 24 | r << 16 | g << 8 | b);   // alpha is dropped, not composited
                grey.getRaster().setSample(x, y, 0, 37 * x + 90 * y);
            }
        for (BufferedImage im : List.of(rgb, rgba)) {
            Path f = tmp.resolve("im" + im.getType() + ".png");
            ImageIO.write(im, "png", f.toFile());
            RgbImage read = RgbImage.read(f);
            assertEquals(3, read.width());
            assertEquals(2, read.height());
            assertEquals(40 * 2 + 7, read.at(2, 1, 0));
            assertEquals(150, read.at(2, 1, 1));
            assertEquals(255 - 60 - 1, read.at(2, 1, 2));
        }
        Path f = tmp.resolve("grey.png");
        ImageIO.write(grey, "png", f.toFile());
        RgbImage read = RgbImage.read(f);
        for (int c = 0; c < 3; c++) assertEquals(37 * 2 + 90, read.at(2, 1, c));   // raw values, no gamma
    }

    @Test
    void notAnImageIsAUserError() throws IOException {
        Path f = Files.writeString(tmp.resolve("x.png"), "not a png");
        assertTrue(assertThrows(UserError.class, () -> RgbImage.read(f)).getMessage().contains("not an image"));
    }

    @Test
    void vaeImagesBecomePixelsAsDiffusersMakesThem() {
        // [-1, 1] → clamp(x / 2 + 0.5) · 255, rounded half to even.
        Tensor t = Tensor.of(new float[]{-1, 1, 0, 2, -0.5f, 0.25f}, 1, 3, 1, 2);
        RgbImage im = RgbImage.fromVae(t).getFirst();
        assertEquals(2, im.width());
        assertEquals(0, im.at(0, 0, 0));
        assertEquals(255, im.at(1, 0, 0));
        assertEquals(128, im.at(0, 0, 1));   // 127.5 → 128
        assertEquals(255, im.at(1, 0, 1));
        assertEquals(64, im.at(0, 0, 2));    // 63.75
        assertEquals(159, im.at(1, 0, 2));   // 159.375
    }
}
