package dev.stitch.engine.taps;

import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Captured values in memory, keyed by (tap, step, half): TransformerLens' activation cache for one run. Values are
 * stored as captured, or as running means for captures that average over steps.
 */
public final class Cache implements Capture.Sink {
    private static final class Mean {
        final int[] shape;
        final double[] sum;
        int count;

        Mean(int[] shape) {
            this.shape = shape;
            this.sum = new double[Math.toIntExact(Tensor.count(shape))];
        }
    }

    private final Map<CaptureKey, Tensor> values = new LinkedHashMap<>();
    private final Map<CaptureKey, Mean> means = new LinkedHashMap<>();

    /** A capture into this cache. */
    public Capture capture(Reduction reduction) { return new Capture(this, reduction); }

    @Override
    public void put(CaptureKey key, Tensor value) {
        if (values.containsKey(key) || means.containsKey(key))
            throw new IllegalStateException(key.tensorName() + " captured twice (use one Cache per run)");
        values.put(key, value);
    }

    @Override
    public void accumulate(CaptureKey key, Tensor value) {
        if (values.containsKey(key)) throw new IllegalStateException(key.tensorName() + " is both a single value and a mean");
        Mean m = means.computeIfAbsent(key, k -> new Mean(value.shape()));
        if (!Arrays.equals(m.shape, value.shape()))
            throw new IllegalStateException(key.tensorName() + ": shape " + Arrays.toString(value.shape()) + " after " + Arrays.toString(m.shape));
        float[] x = value.data();
        for (int i = 0; i < x.length; i++) m.sum[i] += x[i];
        m.count++;
    }

    /** Keys in capture order. */
    public Set<CaptureKey> keys() {
        Set<CaptureKey> all = new LinkedHashSet<>(values.keySet());
        all.addAll(means.keySet());
        return all;
    }

    public boolean contains(CaptureKey key) { return values.containsKey(key) || means.containsKey(key); }

    public Tensor get(String tap, int step, CfgHalf half) { return get(new CaptureKey(tap, step, half)); }

    /** The value at {@code key} (for means: the mean so far, as a new tensor). */
    public Tensor get(CaptureKey key) {
        Tensor v = values.get(key);
        if (v != null) return v;
        Mean m = means.get(key);
        if (m == null) throw new NoSuchElementException("nothing captured at " + key.tensorName() + " (have " + keys().size() + " entries)");
        float[] out = new float[m.sum.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) (m.sum[i] / m.count);
        return Tensor.of(out, m.shape);
    }

    /** How many steps the mean at {@code key} averages (1 for a single value, 0 if absent). */
    public int count(CaptureKey key) {
        if (values.containsKey(key)) return 1;
        Mean m = means.get(key);
        return m == null ? 0 : m.count;
    }

    public int size() { return values.size() + means.size(); }

    /** Writes every entry as an f32 tensor named {@link CaptureKey#tensorName()}, atomically. */
    public void write(Path file, Map<String, String> metadata) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
        for (CaptureKey k : keys()) {
            Tensor t = get(k);
            w.addF32(k.tensorName(), t.data(), t.shape());
        }
        w.write(file);
    }
}
