package dev.stitch.kernels;

import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class TimedBackendTest {
    private static Tensor randn(Random r, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    @Test
    void countsCallsAndArithmeticAndPassesResultsThrough() {
        Random r = new Random(3);
        Backend ref = ReferenceBackend.INSTANCE;
        TimedBackend timed = new TimedBackend(ref);
        Tensor x = randn(r, 2, 5, 8), w = randn(r, 6, 8), img = randn(r, 1, 3, 9, 9), k3 = randn(r, 4, 3, 3, 3);
        assertArrayEquals(ref.linear(x, w, null, Activation.NONE).data(), timed.linear(x, w, null, Activation.NONE).data());
        timed.linear(x, w, null, Activation.GELU);
        assertArrayEquals(ref.conv2d(img, k3, null, 2, 1).data(), timed.conv2d(img, k3, null, 2, 1).data());
        Tensor q = randn(r, 2, 7, 8), kv = randn(r, 2, 11, 8);
        timed.attention(q, kv, kv, 2, 0.5f, false);

        var byOp = timed.entries().stream().collect(java.util.stream.Collectors.toMap(e -> e.op, e -> e));
        assertEquals(2, byOp.get("linear").calls);
        assertEquals(2 * (2.0 * 10 * 6 * 8), byOp.get("linear").flop);
        // stride 2, pad 1 on 9×9: 5×5 outputs, each 3·3·3 multiply-adds per output channel
        assertEquals(2.0 * 4 * 25 * 27, byOp.get("conv2d 3x3").flop);
        assertEquals(4.0 * 2 * 7 * 11 * 8, byOp.get("attention").flop);
        assertTrue(byOp.get("linear").nanos > 0);
        assertTrue(timed.table().contains("attention"));
        timed.reset();
        assertTrue(timed.entries().isEmpty());
    }
}
