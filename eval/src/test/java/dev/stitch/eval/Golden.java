package dev.stitch.eval;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.Tensor;

import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden files made by {@code eval/src/test/python/make_eval_goldens.py} (test resources) and comparisons. */
public final class Golden {
    /** Single model calls: max-abs ≤ 1e-4, as for the conformance goldens. */
    public static final double TOLERANCE = 1e-4;

    private Golden() {}

    /** A test resource under {@code dev/stitch/eval/}. */
    public static Path resource(String name) {
        var url = Golden.class.getResource("/dev/stitch/eval/" + name);
        if (url == null) throw new IllegalStateException("test resource dev/stitch/eval/" + name + " is missing (run make_eval_goldens.py)");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static SafeTensors open(String name) { return SafeTensors.open(resource(name)); }

    /** A uint8 [H, W, 3] tensor of a golden file as an image. */
    public static RgbImage image(SafeTensors f, String name) {
        int[] s = f.entry(name).intShape();
        long[] v = f.longs(name);
        byte[] rgb = new byte[v.length];
        for (int i = 0; i < v.length; i++) rgb[i] = (byte) v[i];
        return new RgbImage(s[1], s[0], rgb);
    }

    /** Asserts equal shapes, finite values and max-abs ≤ tolerance; returns the max-abs difference. */
    public static double assertClose(String what, Tensor expected, Tensor actual, double tolerance) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        return assertClose(what, expected.data(), actual.data(), tolerance);
    }

    public static double assertClose(String what, float[] e, float[] a, double tolerance) {
        assertTrue(e.length == a.length, what + ": " + a.length + " values, expected " + e.length);
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            assertTrue(Float.isFinite(a[i]), what + ": non-finite value at " + i);
            max = Math.max(max, Math.abs((double) e[i] - a[i]));
        }
        System.out.printf("golden %-40s max-abs %.3g%n", what, max);
        assertTrue(max <= tolerance, what + ": max-abs " + max + " > " + tolerance);
        return max;
    }

    public static float[] flat(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * d, d);
        return out;
    }
}
