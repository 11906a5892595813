package dev.stitch.engine.image;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ImagesTest {
    static final Path GOLDEN = Path.of(System.getProperty("stitch.conformance", "../conformance")).resolve("golden");

    @Test
    void pixelsMatchDiffusersExactly() {
        Path file = GOLDEN.resolve("pipeline_ddim_eps.safetensors");
        assumeTrue(Files.exists(file), "conformance data not found at " + file);
        SafeTensors g = SafeTensors.open(file);
        Tensor raw = g.tensor("image_raw");
        long[] expected = g.longs("image_uint8_hwc");
        byte[][] pixels = Images.toUint8(raw);
        assertEquals(1, pixels.length);
        assertEquals(128 * 192 * 3, pixels[0].length);
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], pixels[0][i] & 0xff, "byte " + i + " (h, w, c) = (" + i / 576 + ", " + i / 3 % 192 + ", " + i % 3 + ")");
    }

    @Test
    void roundsHalfToEvenLikeNumpy() {
        // x such that (x/2 + 0.5)·255 is exactly k + 0.5 in float32: numpy rounds to the even neighbour.
        int[] k = {126, 127, 200, 201, 253, 254};
        float[] x = new float[k.length];
        for (int i = 0; i < k.length; i++) x[i] = tie(k[i]);
        byte[][] out = Images.toUint8(Tensor.of(x, 2, 3, 1, 1));
        for (int i = 0; i < k.length; i++) assertEquals(k[i] % 2 == 0 ? k[i] : k[i] + 1, out[i / 3][i % 3] & 0xff, "tie at " + k[i] + ".5");
    }

    /** The float nearest to the formula's value for which the float32 arithmetic lands exactly on k + 0.5. */
    static float tie(int k) {
        float x = ((k + 0.5f) / 255f - 0.5f) * 2f, up = x, down = x;
        for (int i = 0; i < 64; i++, up = Math.nextUp(up), down = Math.nextDown(down)) {
            if ((up / 2f + 0.5f) * 255f == k + 0.5f) return up;
            if ((down / 2f + 0.5f) * 255f == k + 0.5f) return down;
        }
        throw new AssertionError("no float gives an exact tie at " + k + ".5");
    }

    @Test
    void clampsOutOfRange() {
        byte[] out = Images.toUint8(Tensor.of(new float[]{-3.5f, 1.7f, 0.25f}, 1, 3, 1, 1))[0];
        assertEquals(0, out[0] & 0xff);
        assertEquals(255, out[1] & 0xff);
        assertEquals(159, out[2] & 0xff);   // 0.625 · 255 = 159.375
    }

    @Test
    void fromUint8InvertsToUint8() {
        Random r = new Random(9);
        int h = 9, w = 11;
        byte[][] px = new byte[2][h * w * 3];
        for (byte[] p : px) r.nextBytes(p);
        for (int i = 0; i < 256; i++) px[0][i] = (byte) i;   // every value at least once
        Tensor x = Images.fromUint8(px, h, w);
        assertArrayEquals(new int[]{2, 3, h, w}, x.shape());
        float[] d = x.data();
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < h * w; p++)
                for (int c = 0; c < 3; c++)
                    assertEquals(2.0 * (px[n][p * 3 + c] & 0xff) / 255 - 1, d[((n * 3 + c) * h * w) + p], 1e-7);
        byte[][] back = Images.toUint8(x);
        for (int n = 0; n < 2; n++) assertArrayEquals(px[n], back[n]);
    }
}
