package dev.stitch.engine.image;

import dev.stitch.kernels.Tensor;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngTest {
    private static final Path GOLDEN = Path.of(System.getProperty("stitch.conformance", "../conformance")).resolve("golden");

    private static RgbImage random(int w, int h, long seed) {
        byte[] rgb = new byte[3 * w * h];
        Random r = new Random(seed);
        // smooth gradients plus noise, so that every row filter gets chosen somewhere
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) rgb[3 * (y * w + x) + c] = (byte) (x * (c + 1) + y * 2 + (y % 3 == 0 ? r.nextInt(256) : 0));
        return new RgbImage(w, h, rgb);
    }

    /** Pixels as the JDK's own PNG decoder sees them. */
    private static byte[] decodeWithImageIO(byte[] png) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        byte[] rgb = new byte[3 * img.getWidth() * img.getHeight()];
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) {
                int p = 3 * (y * img.getWidth() + x), argb = img.getRGB(x, y);
                rgb[p] = (byte) (argb >>> 16);
                rgb[p + 1] = (byte) (argb >>> 8);
                rgb[p + 2] = (byte) argb;
            }
        return rgb;
    }

    /** An independent chunk walker: checks the signature and every CRC, returns the text chunks and IHDR. */
    private static Map<String, String> textChunks(byte[] png, int[] ihdr) {
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(png, 8), "signature");
        ByteBuffer b = ByteBuffer.wrap(png, 8, png.length - 8);
        Map<String, String> text = new LinkedHashMap<>();
        String type = "";
        while (b.hasRemaining()) {
            int len = b.getInt();
            byte[] t = new byte[4], data = new byte[len];
            b.get(t).get(data);
            CRC32 crc = new CRC32();
            crc.update(t);
            crc.update(data);
            type = new String(t, StandardCharsets.US_ASCII);
            assertEquals((int) crc.getValue(), b.getInt(), "CRC of " + type);
            int zero = indexOf(data, 0);
            switch (type) {
                case "IHDR" -> {
                    ByteBuffer h = ByteBuffer.wrap(data);
                    ihdr[0] = h.getInt();
                    ihdr[1] = h.getInt();
                    ihdr[2] = data[8];
                    ihdr[3] = data[9];
                }
                case "tEXt" -> text.put(new String(data, 0, zero, StandardCharsets.ISO_8859_1),
                    new String(data, zero + 1, len - zero - 1, StandardCharsets.ISO_8859_1));
                case "iTXt" -> {
                    assertEquals(0, data[zero + 1], "iTXt not compressed");
                    int lang = indexOf(Arrays.copyOfRange(data, zero + 3, len), 0) + zero + 3;
                    int translated = indexOf(Arrays.copyOfRange(data, lang + 1, len), 0) + lang + 1;
                    text.put("iTXt:" + new String(data, 0, zero, StandardCharsets.ISO_8859_1),
                        new String(data, translated + 1, len - translated - 1, StandardCharsets.UTF_8));
                }
                default -> { }
            }
        }
        assertEquals("IEND", type, "last chunk");
        return text;
    }

    private static int indexOf(byte[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    @Test
    void roundTripThroughImageIO() throws IOException {
        for (int[] size : new int[][] {{37, 23}, {1, 1}, {192, 128}}) {
            RgbImage img = random(size[0], size[1], size[0]);
            byte[] png = Png.encode(img, Map.of());
            assertArrayEquals(img.rgb(), decodeWithImageIO(png), "pixels " + size[0] + "x" + size[1]);
            int[] ihdr = new int[4];
            textChunks(png, ihdr);
            assertArrayEquals(new int[] {size[0], size[1], 8, 2}, ihdr, "IHDR width, height, depth, colour type");
        }
    }

    @Test
    void textChunksReadBack(@TempDir Path dir) throws IOException {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", "A Portrait of a Cat, wearing a HAT!!! (oil painting)");
        text.put("negative_prompt", "");
        text.put("seed", "42");
        text.put("steps", "8");
        text.put("scheduler", "ddim");
        text.put("guidance", "7.5");
        text.put("model", "tiny-sd2");
        text.put("software", "Stitch");
        text.put("note", "Café crème brûlée:  東京 at night 🚀");  // not Latin-1: goes in an iTXt chunk as UTF-8
        Path file = dir.resolve("out.png");
        RgbImage img = random(16, 8, 3);
        Png.write(file, img, text);
        Map<String, String> back = textChunks(Files.readAllBytes(file), new int[4]);
        Map<String, String> expected = new LinkedHashMap<>(text);
        expected.put("iTXt:note", expected.remove("note"));
        assertEquals(expected, back);
        assertArrayEquals(img.rgb(), Png.read(file).rgb());
    }

    @Test
    void writeIsAtomicAndReplaces(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("a.png");
        Files.writeString(file, "old contents");
        Png.write(file, random(5, 4, 1), Map.of("seed", "1"));
        assertArrayEquals(random(5, 4, 1).rgb(), Png.read(file).rgb());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void goldenPngPixelsReencodeExactly() throws IOException {
        Path png = GOLDEN.resolve("pipeline_ddim_eps.png");
        Assumptions.assumeTrue(Files.isRegularFile(png), "conformance goldens not found at " + GOLDEN + "; skipping");
        SafeTensors st = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps.safetensors"));
        float[] hwc = st.floats("image_uint8_hwc");
        byte[] expected = new byte[hwc.length];
        for (int i = 0; i < hwc.length; i++) expected[i] = (byte) (int) hwc[i];

        RgbImage golden = Png.read(png);
        assertEquals(192, golden.width());
        assertEquals(128, golden.height());
        assertArrayEquals(expected, golden.rgb(), "golden PNG decodes to image_uint8_hwc");
        assertArrayEquals(expected, decodeWithImageIO(Png.encode(golden, Map.of("seed", "42"))), "re-encoded pixels");
        // The pipeline's float image -> bytes conversion gives the same bytes: round(image * 255), half to even.
        Tensor raw = Tensor.of(st.floats("image_raw"), st.entry("image_raw").intShape());
        assertArrayEquals(expected, Images.toUint8(raw)[0], "Images.toUint8(image_raw)");
    }

    @Test
    void signedFloatsAreDiffusersImg2ImgInput() {
        RgbImage img = new RgbImage(2, 1, new byte[] {0, (byte) 255, (byte) 128, 1, 2, 3});
        float[] chw = Images.fromUint8(new byte[][] {img.rgb()}, img.height(), img.width()).data();  // planes R, G, B of pixels (0, 255, 128) and (1, 2, 3)
        assertArrayEquals(new float[] {-1f, 2f * (1 / 255f) - 1f, 1f, 2f * (2 / 255f) - 1f, 2f * (128 / 255f) - 1f, 2f * (3 / 255f) - 1f}, chw);
    }

    @Test
    void greyImagesReadAsTheirStoredLevels(@TempDir Path dir) throws IOException {
        BufferedImage grey = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSamples(0, 0, 3, 2, 0, new int[] {0, 50, 100, 150, 200, 255});
        Path file = dir.resolve("grey.png");
        ImageIO.write(grey, "png", file.toFile());
        RgbImage img = Png.read(file);
        assertArrayEquals(new byte[] {0, 0, 0, 50, 50, 50, 100, 100, 100, (byte) 150, (byte) 150, (byte) 150,
            (byte) 200, (byte) 200, (byte) 200, (byte) 255, (byte) 255, (byte) 255}, img.rgb());
    }

    @Test
    void notAnImageIsAUserError(@TempDir Path dir) throws IOException {
        Path text = dir.resolve("notes.png");
        Files.writeString(text, "this is not a picture");
        UserError e = assertThrows(UserError.class, () -> Png.read(text));
        assertTrue(e.getMessage().contains("notes.png") && e.getMessage().contains("not an image"), e.getMessage());
        UserError missing = assertThrows(UserError.class, () -> Png.read(dir.resolve("missing.png")));
        assertTrue(missing.getMessage().contains("missing.png"), missing.getMessage());
    }
}
