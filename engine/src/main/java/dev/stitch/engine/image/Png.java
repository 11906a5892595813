package dev.stitch.engine.image;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.kernels.UserError;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * PNG files: our own writer for 8-bit RGB with text chunks (the generation settings travel inside the image), and a
 * reader for any image the JDK can decode, for img2img.
 *
 * <p>The writer emits signature, IHDR, one text chunk per entry (tEXt when the value is Latin-1, otherwise iTXt in
 * UTF-8), IDAT (rows filtered with the usual per-row minimum-sum heuristic, then deflated) and IEND, each with its
 * CRC-32.
 */
public final class Png {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private Png() {}

    /** Writes {@code image} with {@code text} chunks to {@code file} atomically (temporary file, then rename). */
    public static void write(Path file, RgbImage image, Map<String, String> text) {
        AtomicFiles.write(file, encode(image, text));
    }

    /** The PNG bytes of {@code image}, with one text chunk per entry of {@code text} (in iteration order). */
    public static byte[] encode(RgbImage image, Map<String, String> text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, image.width());
        putInt(ihdr, 4, image.height());
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 2;   // colour type: RGB; compression, filter and interlace methods stay 0
        chunk(out, "IHDR", ihdr);
        for (var e : text.entrySet()) textChunk(out, e.getKey(), e.getValue());
        chunk(out, "IDAT", deflate(filtered(image)));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void textChunk(ByteArrayOutputStream out, String key, String value) {
        if (key.isEmpty() || key.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(key) || key.indexOf('\0') >= 0
            || key.startsWith(" ") || key.endsWith(" "))
            throw new IllegalArgumentException("PNG text keyword must be 1-79 Latin-1 characters: '" + key + "'");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.writeBytes(key.getBytes(StandardCharsets.ISO_8859_1));
        data.write(0);
        if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value) && value.indexOf('\0') < 0) {
            data.writeBytes(value.getBytes(StandardCharsets.ISO_8859_1));
            chunk(out, "tEXt", data.toByteArray());
        } else {
            data.writeBytes(new byte[] {0, 0, 0, 0});  // not compressed, method 0, no language tag, no translated keyword
            data.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            chunk(out, "iTXt", data.toByteArray());
        }
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] head = new byte[8];
        putInt(head, 0, data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, head, 4, 4);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(head);
        out.writeBytes(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        out.writeBytes(c);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    /** Each row prefixed by the filter (None, Sub, Up, Average, Paeth) whose output has the smallest sum of |byte|. */
    private static byte[] filtered(RgbImage image) {
        int stride = 3 * image.width(), bpp = 3;
        byte[] px = image.rgb(), out = new byte[image.height() * (stride + 1)];
        byte[] candidate = new byte[stride], best = new byte[stride];
        for (int y = 0; y < image.height(); y++) {
            int row = y * stride, prev = row - stride;
            long bestSum = Long.MAX_VALUE;
            int bestType = 0;
            for (int type = 0; type < 5; type++) {
                long sum = 0;
                for (int i = 0; i < stride; i++) {
                    int x = px[row + i] & 0xff;
                    int a = i >= bpp ? px[row + i - bpp] & 0xff : 0;
                    int b = y > 0 ? px[prev + i] & 0xff : 0;
                    int c = y > 0 && i >= bpp ? px[prev + i - bpp] & 0xff : 0;
                    int f = switch (type) {
                        case 0 -> x;
                        case 1 -> x - a;
                        case 2 -> x - b;
                        case 3 -> x - ((a + b) >>> 1);
                        default -> x - paeth(a, b, c);
                    };
                    candidate[i] = (byte) f;
                    sum += Math.abs((int) (byte) f);
                }
                if (sum < bestSum) {
                    bestSum = sum;
                    bestType = type;
                    System.arraycopy(candidate, 0, best, 0, stride);
                }
            }
            out[y * (stride + 1)] = (byte) bestType;
            System.arraycopy(best, 0, out, y * (stride + 1) + 1, stride);
        }
        return out;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static byte[] deflate(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2 + 64);
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
        try (OutputStream z = new DeflaterOutputStream(out, d, 1 << 16)) {
            z.write(data);
        } catch (IOException e) {
            throw new IllegalStateException(e);  // in-memory streams do not fail
        } finally {
            d.end();
        }
        return out.toByteArray();
    }

    /**
     * Reads any image the JDK decodes (PNG, JPEG, BMP, GIF) as 8-bit RGB, dropping alpha and replicating grey, as
     * PIL's {@code convert("RGB")} does. A file that is not an image is a {@link UserError} naming it.
     */
    public static RgbImage read(Path file) {
        BufferedImage img;
        try (InputStream in = Files.newInputStream(dev.stitch.engine.io.InputFiles.regular(file))) {
            img = ImageIO.read(in);
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (IOException | RuntimeException e) {
            throw new UserError(file + ": cannot decode the image (" + e.getMessage() + ")");
        }
        if (img == null) throw new UserError(file + ": not an image (expected a PNG, JPEG, BMP or GIF file)");
        int w = img.getWidth(), h = img.getHeight();
        byte[] rgb = new byte[3 * w * h];
        Raster r = img.getRaster();
        boolean grey8 = img.getColorModel().getNumColorComponents() == 1 && r.getSampleModel().getSampleSize(0) == 8
            && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int p = 3 * (y * w + x);
                if (grey8) {  // the stored grey level itself: the JDK's getRGB would apply a gamma to it
                    byte g = (byte) r.getSample(x, y, 0);
                    rgb[p] = rgb[p + 1] = rgb[p + 2] = g;
                } else {
                    int argb = img.getRGB(x, y);
                    rgb[p] = (byte) (argb >>> 16);
                    rgb[p + 1] = (byte) (argb >>> 8);
                    rgb[p + 2] = (byte) argb;
                }
            }
        return new RgbImage(w, h, rgb);
    }
}
