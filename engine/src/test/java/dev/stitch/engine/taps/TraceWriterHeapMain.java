package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

import java.nio.file.Path;
import java.util.Map;

/**
 * Run by {@link TraceWriterTest} in a JVM whose heap is far smaller than what it traces: writes {@code count}
 * tensors of {@code floats} numbers, value i of tensor k being {@link #value}(k, i).
 */
public final class TraceWriterHeapMain {
    static float value(int k, int i) { return k * 1000.5f + i * 0.25f - (i % 7); }

    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        int count = Integer.parseInt(args[1]), floats = Integer.parseInt(args[2]);
        try (TraceWriter w = new TraceWriter(out, Map.of("test", "heap"))) {
            for (int k = 0; k < count; k++) {
                float[] d = new float[floats];
                for (int i = 0; i < floats; i++) d[i] = value(k, i);
                w.put(new CaptureKey("unet.mid_block", k, CfgHalf.COND), Tensor.of(d, 1, floats));
            }
            w.commit();
        }
    }
}
