package dev.stitch.kernels.cuda;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.TimedBackend;
import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every backend (reference, cpu, cuda on a recording driver, shape-only, timed) refuses the same bad operands of
 * every op with the same message: the shape rules live in one place ({@code Shapes}), not in each backend.
 */
class SameRefusalsTest {
    private static Tensor t(int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (i % 7) - 3;
        return Tensor.of(d, shape);
    }

    private record Bad(String name, Function<Backend, Tensor> run) {}

    private static List<Bad> cases() {
        List<Bad> c = new ArrayList<>();
        Tensor img = t(2, 4, 5, 6), seq = t(2, 7, 8), g4 = t(4), g8 = t(8);
        c.add(new Bad("fromHost count", b -> b.fromHost(new float[5], 2, 3)));
        c.add(new Bad("linear inner size", b -> b.linear(seq, t(3, 7), null, Activation.NONE)));
        c.add(new Bad("linear bias", b -> b.linear(seq, t(3, 8), t(4), Activation.NONE)));
        c.add(new Bad("matmul inner size", b -> b.matmul(t(3, 4), t(5, 4), false, false)));
        c.add(new Bad("conv2d channels", b -> b.conv2d(img, t(3, 5, 3, 3), null, 1, 1)));
        c.add(new Bad("conv2d bias", b -> b.conv2d(img, t(3, 4, 3, 3), t(2), 1, 1)));
        c.add(new Bad("groupNorm groups", b -> b.groupNorm(img, 3, g4, g4, 1e-5f, false)));
        c.add(new Bad("groupNorm gamma", b -> b.groupNorm(img, 2, g8, g4, 1e-5f, true)));
        c.add(new Bad("groupNorm rank 1", b -> b.groupNorm(t(8), 2, g8, g8, 1e-5f, false)));
        c.add(new Bad("layerNorm beta", b -> b.layerNorm(seq, g8, g4, 1e-5f)));
        c.add(new Bad("attention heads", b -> b.attention(seq, seq, seq, 3, 0.5f, false)));
        c.add(new Bad("attention k width", b -> b.attention(seq, t(2, 7, 4), seq, 2, 0.5f, false)));
        c.add(new Bad("attention v length", b -> b.attention(seq, seq, t(2, 6, 8), 2, 0.5f, false)));
        c.add(new Bad("attention batch", b -> b.attention(seq, t(1, 7, 8), t(1, 7, 8), 2, 0.5f, false)));
        c.add(new Bad("attention rank", b -> b.attention(img, img, img, 1, 0.5f, false)));
        c.add(new Bad("attention no keys", b -> b.attention(seq, t(2, 0, 8), t(2, 0, 8), 2, 0.5f, false)));
        c.add(new Bad("geglu odd", b -> b.geglu(t(2, 7))));
        c.add(new Bad("add shapes", b -> b.add(seq, t(2, 8, 7))));
        c.add(new Bad("mul shapes", b -> b.mul(seq, t(2, 7, 7))));
        c.add(new Bad("addChannels", b -> b.addChannels(img, t(2, 5))));
        c.add(new Bad("avgPool2d rank", b -> b.avgPool2d(seq, 2, 2, 0, false)));
        c.add(new Bad("avgPool2d kernel too large", b -> b.avgPool2d(img, 7, 1, 0, true)));
        c.add(new Bad("maxPool2d stride 0", b -> b.maxPool2d(img, 2, 0, 0)));
        c.add(new Bad("maxPool2d pad over half the kernel", b -> b.maxPool2d(img, 3, 1, 2)));
        c.add(new Bad("upsampleNearest rank", b -> b.upsampleNearest(seq, 4, 4)));
        c.add(new Bad("upsampleNearest to nothing", b -> b.upsampleNearest(img, 0, 4)));
        c.add(new Bad("concat", b -> b.concat(1, img, t(2, 4, 5, 5))));
        c.add(new Bad("concat axis", b -> b.concat(4, img, img)));
        c.add(new Bad("slice", b -> b.slice(img, 2, 3, 6)));
        c.add(new Bad("nchwToNlc rank", b -> b.nchwToNlc(seq)));
        c.add(new Bad("nlcToNchw tokens", b -> b.nlcToNchw(seq, 2, 3)));
        c.add(new Bad("embedding id", b -> b.embedding(t(5, 3), new int[] {0, 5})));
        c.add(new Bad("embedding rank", b -> b.embedding(t(5, 3, 1), new int[] {0})));
        c.add(new Bad("timestepEmbedding dim", b -> b.timestepEmbedding(new float[] {1}, -2, false, 0)));
        c.add(new Bad("mean axis", b -> b.mean(seq, 3)));
        c.add(new Bad("project direction", b -> b.project(seq, 2, t(7))));
        c.add(new Bad("addDirection batch axis", b -> b.addDirection(seq, 0, t(2), 1, 0, false, false, new int[] {0})));
        c.add(new Bad("addDirection direction", b -> b.addDirection(seq, 2, t(7), 1, 0, false, false, new int[] {0})));
        c.add(new Bad("addDirection row", b -> b.addDirection(seq, 2, g8, 1, 0, false, false, new int[] {2})));
        c.add(new Bad("addDirection repeated row", b -> b.addDirection(seq, 2, g8, 1, 0, false, false, new int[] {1, 1})));
        c.add(new Bad("transport bounds", b -> b.transport(img, 1, g4, g4, t(5), g4, 1, false, new int[] {0})));
        return c;
    }

    @Test
    void everyBackendRefusesTheSameOperandsWithTheSameMessage() {
        RecordingDriver driver = new RecordingDriver();
        List<Backend> backends = List.of(ReferenceBackend.INSTANCE, new CpuBackend(2, true), new CudaBackend(driver, DType.F32),
            ShapeBackend.INSTANCE, new TimedBackend(new CpuBackend(1, false)));
        for (Bad bad : cases()) {
            String first = null;
            for (Backend b : backends) {
                String message;
                try {
                    bad.run().apply(b);
                    fail(bad.name() + ": " + b.name() + " accepted it");
                    return;
                } catch (IllegalArgumentException e) {
                    message = e.getMessage();
                }
                if (first == null) first = message;
                assertEquals(first, message, bad.name() + ": " + b.name() + " says something else");
            }
            String op = first.substring(0, Math.max(0, first.indexOf(':')));
            assertTrue(bad.name().startsWith(op) && !op.isEmpty(), bad.name() + ": the message names another op: " + first);
        }
        assertTrue(driver.launched.isEmpty(), "a refused op launched " + driver.launched);
    }
}
