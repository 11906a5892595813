package dev.stitch.engine.unet;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The feed-forward's token chunking changes nothing: chunked output = the whole projection at once, bit for bit. */
class FeedForwardTest {
    static final int DIM = 8;

    static Tensor randn(Random r, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    @Test
    void chunkedRowsEqualTheWholeProjection() {
        Random r = new Random(11);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("net.0.proj.weight", randn(r, 8 * DIM, DIM));
        w.put("net.0.proj.bias", randn(r, 8 * DIM));
        w.put("net.2.weight", randn(r, DIM, 4 * DIM));
        w.put("net.2.bias", randn(r, DIM));
        FeedForward ff = new FeedForward(Weights.of("unet", "test", w), DIM);
        // two images of 2 100 tokens: 4 200 rows, more than one chunk, the last one partial
        Tensor x = randn(r, 2, 2100, DIM);
        assertTrue(2 * 2100 > FeedForward.CHUNK_ROWS);
        for (Backend ops : new Backend[] {Backends.byName("cpu"), ReferenceBackend.INSTANCE}) {
            Ctx c = new Ctx(ops);
            Tensor whole = ff.out.forward(c, ops.geglu(ff.proj.forward(c, x)));
            Tensor chunked = ff.forward(c, x);
            assertArrayEquals(whole.shape(), chunked.shape());
            float[] a = ops.toHost(whole), b = ops.toHost(chunked);
            for (float v : b) assertTrue(Float.isFinite(v), ops.name() + ": non-finite output");
            assertArrayEquals(a, b, ops.name() + ": chunked feed-forward differs from the whole projection");
            assertEquals(2 * 2100 * DIM, b.length);
        }
    }
}
