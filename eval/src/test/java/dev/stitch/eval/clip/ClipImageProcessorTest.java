package dev.stitch.eval.clip;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.eval.Golden;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** CLIP's preprocessing against Pillow and transformers' CLIPImageProcessor (golden file made with them). */
class ClipImageProcessorTest {
    static final SafeTensors GOLDEN = Golden.open("preprocessing_golden.safetensors");

    @Test
    void bicubicResizeMatchesPillowBitForBit() {
        RgbImage src = Golden.image(GOLDEN, "bicubic_src");
        int cases = 0;
        for (int i = 0; GOLDEN.contains("bicubic" + i + "_out"); i++, cases++) {
            RgbImage expected = Golden.image(GOLDEN, "bicubic" + i + "_out");
            RgbImage actual = ClipImageProcessor.resizeBicubic(src, expected.width(), expected.height());
            assertEquals(expected.width(), actual.width());
            assertEquals(expected.height(), actual.height());
            assertArrayEquals(expected.rgb(), actual.rgb(), "bicubic " + src.width() + "×" + src.height() + " → "
                + expected.width() + "×" + expected.height());
        }
        assertEquals(6, cases);
    }

    @Test
    void sameSizeResizeIsACopy() {
        RgbImage src = Golden.image(GOLDEN, "bicubic_src");
        assertSame(src, ClipImageProcessor.resizeBicubic(src, src.width(), src.height()));
    }

    @Test
    void realSizeResizeAndCropMatchTransformers() {
        ClipImageProcessor p = ClipImageProcessor.defaults(224);
        RgbImage src = Golden.image(GOLDEN, "clip224_src"), expected = Golden.image(GOLDEN, "clip224_crop");
        assertArrayEquals(expected.rgb(), p.resizeAndCrop(src).rgb(), "257×300 → short side 224 → center 224×224");
        Tensor pixels = p.pixelValues(List.of(src));
        assertArrayEquals(new int[]{1, 3, 224, 224}, pixels.shape());
        float[] row = new float[3 * 224], all = pixels.data();
        for (int c = 0; c < 3; c++) System.arraycopy(all, (c * 224 + 100) * 224, row, c * 224, 224);
        Golden.assertClose("clip224 pixel values row 100", GOLDEN.tensor("clip224_pixel_values_row100").data(), row, 1e-6);
    }

    @Test
    void centerCropPadsWithZerosWhenTheImageIsSmaller() {
        byte[] px = new byte[2 * 3 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i + 1);
        RgbImage crop = ClipImageProcessor.centerCrop(new RgbImage(2, 3, px), 5, 4);
        // transformers pads by ceil((4 - 2) / 2) = 1 column on the left, ceil((5 - 3) / 2) = 1 row on top.
        assertEquals(0, at(crop, 0, 0, 0));
        assertEquals(px[0] & 0xff, at(crop, 1, 1, 0));
        assertEquals(px[(2 * 2 + 1) * 3 + 2] & 0xff, at(crop, 2, 3, 2));
        assertEquals(0, at(crop, 3, 4, 1));
    }

    static int at(RgbImage im, int x, int y, int c) { return im.rgb()[(y * im.width() + x) * 3 + c] & 0xff; }

    @Test
    void pngFilesGoThroughTheSamePath(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        RgbImage src = Golden.image(GOLDEN, "clip224_src");
        java.nio.file.Path f = tmp.resolve("x.png");
        dev.stitch.engine.image.Png.write(f, src, java.util.Map.of());
        RgbImage read = dev.stitch.engine.image.Png.read(f);
        assertArrayEquals(Golden.image(GOLDEN, "clip224_crop").rgb(), ClipImageProcessor.defaults(224).resizeAndCrop(read).rgb());
    }
}
