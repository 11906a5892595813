package dev.stitch.engine.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;

import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Collects tensors and writes one safetensors file atomically: to a temporary file beside the target, forced to
 * disk, then renamed over it, so a reader never sees a half-written file.
 */
public final class SafeTensorsWriter {
    /** The bytes are made when the file is written, one tensor at a time, so huge files need little memory. */
    private record Item(String name, SafeDType dtype, long[] shape, long byteSize, Supplier<MemorySegment> bytes) {}

    private final Map<String, Item> items = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafeTensorsWriter metadata(Map<String, String> all) {
        metadata.putAll(all);
        return this;
    }

    /** Adds raw little-endian bytes of {@code dtype} with {@code shape}. */
    public SafeTensorsWriter add(String name, SafeDType dtype, long[] shape, MemorySegment bytes) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n * dtype.bytes != bytes.byteSize())
            throw new IllegalArgumentException(name + ": " + bytes.byteSize() + " bytes for " + n + " x " + dtype);
        return add(name, dtype, shape, () -> bytes);
    }

    /** Adds a tensor whose bytes {@code make} produces at write time (it must give shape × dtype bytes). */
    public SafeTensorsWriter add(String name, SafeDType dtype, long[] shape, Supplier<MemorySegment> make) {
        long n = 1;
        for (long d : shape) n *= d;
        if (items.containsKey(name) || name.equals("__metadata__")) throw new IllegalArgumentException("duplicate tensor name " + name);
        items.put(name, new Item(name, dtype, shape.clone(), n * dtype.bytes, make));
        return this;
    }

    public SafeTensorsWriter addF32(String name, float[] data, int... shape) {
        return add(name, SafeDType.F32, toLong(shape), bytesOf(data, DType.F32));
    }

    public SafeTensorsWriter addI64(String name, long[] data, int... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[data.length * 8]);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, data.length);
        return add(name, SafeDType.I64, toLong(shape), seg);
    }

    /** A host tensor stored as {@code dtype} (F32, F16 or BF16; narrowing rounds to nearest even). */
    public SafeTensorsWriter add(String name, Tensor t, DType dtype) {
        if (t.dtype() == dtype && t.storage() instanceof Tensor.Mapped m)
            return add(name, SafeDType.of(dtype), toLong(t.shape()), m.segment);
        return add(name, SafeDType.of(dtype), toLong(t.shape()), bytesOf(t.data(), dtype));
    }

    /** f32 values as little-endian bytes of {@code dtype} (narrowing rounds to nearest even). */
    public static MemorySegment bytesOf(float[] d, DType dtype) {
        if (dtype == DType.F32) {
            MemorySegment seg = MemorySegment.ofArray(new byte[d.length * 4]);
            MemorySegment.copy(d, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, d.length);
            return seg;
        }
        MemorySegment seg = MemorySegment.ofArray(new byte[d.length * 2]);
        var le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < d.length; i++) seg.setAtIndex(le, i, dtype == DType.F16 ? DType.f32ToF16(d[i]) : DType.f32ToBf16(d[i]));
        return seg;
    }

    public SafeTensorsWriter add(String name, Tensor t) { return add(name, t, t.dtype()); }

    public static long[] toLong(int[] s) {
        long[] l = new long[s.length];
        for (int i = 0; i < s.length; i++) l[i] = s[i];
        return l;
    }

    /** The header bytes (padded with spaces to a multiple of 8, as the reference implementation does). */
    byte[] header() {
        ObjectNode root = SafeTensors.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Item it : items.values()) {
            ObjectNode e = root.putObject(it.name());
            e.put("dtype", it.dtype().name());
            var sh = e.putArray("shape");
            for (long d : it.shape()) sh.add(d);
            var off = e.putArray("data_offsets");
            off.add(offset);
            offset += it.byteSize();
            off.add(offset);
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 8 + 7) / 8 * 8 - 8;
        byte[] out = new byte[padded];
        java.util.Arrays.fill(out, (byte) ' ');
        System.arraycopy(json, 0, out, 0, json.length);
        return out;
    }

    /** Writes to {@code file} atomically (temp file in the same folder, fsync, rename). */
    public void write(Path file) {
        AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] h = header();
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip();
                while (len.hasRemaining()) ch.write(len);
                ByteBuffer hb = ByteBuffer.wrap(h);
                while (hb.hasRemaining()) ch.write(hb);
                OutputStream os = Channels.newOutputStream(ch);
                byte[] buf = new byte[1 << 20];
                for (Item it : items.values()) {
                    MemorySegment s = it.bytes().get();
                    if (s.byteSize() != it.byteSize())
                        throw new IllegalStateException(it.name() + ": made " + s.byteSize() + " bytes, expected " + it.byteSize());
                    for (long p = 0; p < s.byteSize(); p += buf.length) {
                        int k = (int) Math.min(buf.length, s.byteSize() - p);
                        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, p, buf, 0, k);
                        os.write(buf, 0, k);
                    }
                }
                os.flush();
                ch.force(true);
            }
        });
    }

    public List<String> names() { return new ArrayList<>(items.keySet()); }
}
