package dev.stitch.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A shaped block of numbers owned by one storage: host f32 (activations), a read-only mapped file region in its file
 * dtype (weights), or a backend's own memory (a GPU buffer). Row-major, no strides: views only reshape.
 *
 * <p>A backend that needs its own form of a weight (a device copy) derives it once and keeps it with the tensor
 * through {@link #derived}, so a weight is uploaded a single time however often it is used. The CPU backend needs
 * none: it reads weights in place with {@link #read}.
 */
public final class Tensor implements AutoCloseable {
    /** Where the numbers live. Host and mapped storages are built in; other backends add their own. */
    public interface Storage {
        default void close() {}
    }

    /** f32 numbers on the Java heap. */
    public record Host(float[] data) implements Storage {}

    /** A little-endian file region in {@code dtype}, typically memory-mapped. Widened to f32 on first host use. */
    public static final class Mapped implements Storage {
        public final MemorySegment segment;
        public final DType dtype;
        private volatile float[] widened;

        public Mapped(MemorySegment segment, DType dtype) { this.segment = segment; this.dtype = dtype; }

        float[] widen(long n) {
            float[] w = widened;
            if (w == null) {
                synchronized (this) {
                    if ((w = widened) == null) widened = w = widenSegment(segment, dtype, n);
                }
            }
            return w;
        }
    }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int[] shape;
    private final DType dtype;
    private final Storage storage;
    private final ConcurrentHashMap<Object, Object> derived;

    private Tensor(Storage storage, DType dtype, int[] shape, ConcurrentHashMap<Object, Object> derived) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.derived = derived;
        for (int d : shape) if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
    }

    /** Wraps host f32 data (no copy). */
    public static Tensor of(float[] data, int... shape) {
        long n = count(shape);
        if (n != data.length)
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        return new Tensor(new Host(data), DType.F32, shape, new ConcurrentHashMap<>());
    }

    /** Zero-filled host f32 tensor. */
    public static Tensor zeros(int... shape) { return of(new float[Math.toIntExact(count(shape))], shape); }

    /** A file region read as {@code dtype} (no copy). */
    public static Tensor mapped(MemorySegment segment, DType dtype, int... shape) {
        long n = count(shape);
        if (segment.byteSize() != n * dtype.bytes)
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes for " + n + " x " + dtype);
        return new Tensor(new Mapped(segment, dtype), dtype, shape, new ConcurrentHashMap<>());
    }

    /** A tensor over a backend's own storage. */
    public static Tensor wrap(Storage storage, DType dtype, int... shape) {
        return new Tensor(storage, dtype, shape, new ConcurrentHashMap<>());
    }

    public int[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public DType dtype() { return dtype; }
    public Storage storage() { return storage; }

    /** Size of dimension {@code i}; negative counts from the end. */
    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public long numel() { return count(shape); }

    /** Same storage, new shape with the same element count; one dimension may be -1. */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("more than one -1 in " + Arrays.toString(newShape));
                infer = i;
            } else known *= s[i];
        }
        if (infer >= 0) s[infer] = Math.toIntExact(numel() / Math.max(known, 1));
        if (count(s) != numel())
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        return new Tensor(storage, dtype, s, derived);
    }

    /**
     * The numbers as host f32. Host storage returns its own array (callers that did not create the tensor must not
     * write to it); mapped storage widens once and caches. Device storages must go through their backend.
     */
    public float[] data() {
        return switch (storage) {
            case Host h -> h.data();
            case Mapped m -> m.widen(numel());
            default -> throw new IllegalStateException("tensor lives on a device; copy it with its backend's toHost");
        };
    }

    /**
     * Copies values [from, from + len) of a host or mapped tensor into {@code dst} as f32, widening f16/bf16 on the
     * way. Unlike {@link #data()} it never widens or caches the whole tensor: kernels read weights block by block
     * straight from their file bytes with it, so a weight lives in memory once, as its mapped file.
     */
    public void read(long from, float[] dst, int off, int len) {
        switch (storage) {
            case Host h -> System.arraycopy(h.data(), Math.toIntExact(from), dst, off, len);
            case Mapped m -> {
                switch (m.dtype) {
                    case F32 -> MemorySegment.copy(m.segment, F32_LE, 4 * from, dst, off, len);
                    case F16 -> {
                        short[] bits = halves(len);
                        MemorySegment.copy(m.segment, I16_LE, 2 * from, bits, 0, len);
                        for (int i = 0; i < len; i++) dst[off + i] = Float.float16ToFloat(bits[i]);
                    }
                    case BF16 -> {
                        short[] bits = halves(len);
                        MemorySegment.copy(m.segment, I16_LE, 2 * from, bits, 0, len);
                        for (int i = 0; i < len; i++) dst[off + i] = Float.intBitsToFloat(bits[i] << 16);
                    }
                }
            }
            default -> throw new IllegalStateException("tensor lives on a device; copy it with its backend's toHost");
        }
    }

    /** Per-thread scratch for {@link #read}: the raw 16-bit values, converted in a plain loop the JIT vectorizes. */
    private static final ThreadLocal<short[][]> HALVES = ThreadLocal.withInitial(() -> new short[1][0]);

    private static short[] halves(int len) {
        short[][] h = HALVES.get();
        if (h[0].length < len) h[0] = new short[Math.max(len, 2 * h[0].length)];
        return h[0];
    }

    /** True where {@link #data()} works without a backend. */
    public boolean isHost() { return storage instanceof Host || storage instanceof Mapped; }

    /** A form of this tensor derived by a backend (a device copy), computed once per key. */
    @SuppressWarnings("unchecked")
    public <T> T derived(Object key, Supplier<T> make) {
        return (T) derived.computeIfAbsent(key, k -> make.get());
    }

    @Override
    public void close() {
        storage.close();
        for (Object o : derived.values()) if (o instanceof AutoCloseable c) {
            try { c.close(); } catch (Exception e) { throw new IllegalStateException(e); }
        }
        derived.clear();
    }

    public static long count(int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    static float[] widenSegment(MemorySegment seg, DType dtype, long n) {
        float[] out = new float[Math.toIntExact(n)];
        switch (dtype) {
            case F32 -> MemorySegment.copy(seg, F32_LE, 0, out, 0, out.length);
            case F16 -> { for (int i = 0; i < out.length; i++) out[i] = DType.f16ToF32(seg.getAtIndex(I16_LE, i)); }
            case BF16 -> { for (int i = 0; i < out.length; i++) out[i] = DType.bf16ToF32(seg.getAtIndex(I16_LE, i)); }
        }
        return out;
    }

    @Override
    public String toString() { return "Tensor" + Arrays.toString(shape) + " " + dtype + " " + storage.getClass().getSimpleName(); }
}
