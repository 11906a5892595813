package dev.stitch.engine.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, memory-mapped (no copy) and validated on open: 8-byte little-endian header length, a JSON
 * object header, then the data. Every way a file can be wrong is a {@link SafeTensorsException} naming the file
 * and the tensor.
 */
public final class SafeTensors {
    /** One tensor's header entry; offsets are relative to the start of the data section. */
    public record Entry(String name, SafeDType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public int[] intShape() {
            int[] s = new int[shape.length];
            for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
            return s;
        }
    }

    static final ObjectMapper JSON = JsonMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .build();
    private static final long MAX_HEADER = 100L << 20;
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and validates {@code file}. The mapping lives as long as any tensor read from it. */
    public static SafeTensors open(Path file) {
        long size;
        MemorySegment all;
        if (!Files.exists(file)) throw new SafeTensorsException(file + ": no such file");
        if (!Files.isRegularFile(file)) throw new SafeTensorsException(file + ": not a regular file (expected a .safetensors file)");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            all = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(file + ": no such file");
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return parse(file, all, size);
    }

    /** Validates an in-memory safetensors image (used for files inside archives and for tests). */
    public static SafeTensors parse(Path file, MemorySegment all, long size) {
        if (size < 8) throw err(file, "file is " + size + " bytes, too short for a safetensors header");
        long n = all.get(I64_LE, 0);
        if (n < 2 || n > MAX_HEADER) throw err(file, "header length " + Long.toUnsignedString(n) + " is not plausible");
        if (n > size - 8) throw err(file, "header length " + n + " runs past the end of the file (" + size + " bytes)");
        byte[] hb = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(new String(hb, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw err(file, "header is " + JsonFiles.reason(e));
        }
        if (root == null || !root.isObject()) throw err(file, "header is not a JSON object");
        long dataStart = 8 + n, dataSize = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> meta = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                meta = readMetadata(file, v);
                continue;
            }
            entries.put(name, readEntry(file, name, v, dataSize));
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.begin() < a.end() && b.end() > b.begin() && a.end() > a.begin())
                throw err(file, "tensor '" + b.name() + "' overlaps tensor '" + a.name() + "' (bytes " + b.begin() + ".." + a.end() + ")");
        }
        MemorySegment data = size == 0 ? MemorySegment.NULL : all.asSlice(dataStart, dataSize);
        return new SafeTensors(file, data, Collections.unmodifiableMap(entries), meta);
    }

    private static Map<String, String> readMetadata(Path file, JsonNode v) {
        if (!v.isObject()) throw err(file, "__metadata__ is not a JSON object");
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            var m = it.next();
            if (!m.getValue().isTextual()) throw err(file, "__metadata__ value for '" + m.getKey() + "' is not a string");
            meta.put(m.getKey(), m.getValue().asText());
        }
        return Collections.unmodifiableMap(meta);
    }

    private static Entry readEntry(Path file, String name, JsonNode v, long dataSize) {
        if (!v.isObject()) throw err(file, "tensor '" + name + "': header entry is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw err(file, "tensor '" + name + "': missing dtype");
        SafeDType dtype;
        try {
            dtype = SafeDType.valueOf(dt.asText());
        } catch (IllegalArgumentException e) {
            String d = dt.asText();
            if (d.startsWith("F8")) throw err(file, "tensor '" + name + "': dtype " + d + " (8-bit float) is not supported; convert the file to F16, BF16 or F32");
            throw err(file, "tensor '" + name + "': unknown dtype '" + d + "' (expected one of " + Arrays.toString(SafeDType.values()) + ")");
        }
        if (sh == null || !sh.isArray()) throw err(file, "tensor '" + name + "': missing shape");
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0)
                throw err(file, "tensor '" + name + "': shape " + sh + " is not a list of non-negative integers");
            // tensors are indexed with ints: a longer axis cannot be held, even with no elements
            if (d.asLong() > Integer.MAX_VALUE)
                throw err(file, "tensor '" + name + "': shape " + sh + " has an axis longer than " + Integer.MAX_VALUE);
            shape[i] = d.asLong();
            numel = Math.multiplyHigh(numel, shape[i]) != 0 ? -1 : numel * shape[i];
            if (numel < 0 || numel > (1L << 50)) throw err(file, "tensor '" + name + "': shape " + sh + " is too large");
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
            || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
            throw err(file, "tensor '" + name + "': data_offsets must be [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin) throw err(file, "tensor '" + name + "': data_offsets [" + begin + ", " + end + "] are not ordered");
        if (end - begin != numel * dtype.bytes)
            throw err(file, "tensor '" + name + "': data_offsets span " + (end - begin) + " bytes but shape " + sh + " of "
                + dtype + " needs " + numel * dtype.bytes);
        if (end > dataSize)
            throw err(file, "tensor '" + name + "': data ends at byte " + end + " but the data section has only " + dataSize
                + " (truncated file?)");
        return new Entry(name, dtype, shape, begin, end);
    }

    static SafeTensorsException err(Path file, String what) { return new SafeTensorsException(file + ": " + what); }

    public Path file() { return file; }

    /** Drops the file's pages from this process's memory (see {@code Weights.unloadPages}); reads map them back. */
    public void unloadPages() {
        if (data.isMapped()) data.unload();
    }

    /** Tensor names in header order. */
    public List<String> names() { return List.copyOf(entries.keySet()); }

    public Map<String, Entry> entries() { return entries; }

    public boolean contains(String name) { return entries.containsKey(name); }

    public Map<String, String> metadata() { return metadata; }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw err(file, "no tensor named '" + name + "'");
        return e;
    }

    /** The raw little-endian bytes of a tensor (a view of the mapping). */
    public MemorySegment bytes(String name) {
        Entry e = entry(name);
        return e.end() == e.begin() ? MemorySegment.ofArray(new byte[0]) : data.asSlice(e.begin(), e.end() - e.begin());
    }

    /** A float tensor: F32/F16/BF16 mapped as is (no copy); F64 narrowed to F32. Integers are refused. */
    public Tensor tensor(String name) {
        Entry e = entry(name);
        DType dt = e.dtype().computeType();
        if (dt != null) return Tensor.mapped(bytes(name), dt, e.intShape());
        if (e.dtype() == SafeDType.F64) return Tensor.of(floats(name), e.intShape());
        throw err(file, "tensor '" + name + "' has dtype " + e.dtype() + ", expected a float type");
    }

    /** Any numeric tensor's values as f32 (a copy). */
    public float[] floats(String name) {
        Entry e = entry(name);
        MemorySegment s = bytes(name);
        int n = Math.toIntExact(e.numel());
        float[] out = new float[n];
        for (int i = 0; i < n; i++)
            out[i] = switch (e.dtype()) {
                case F64 -> (float) s.getAtIndex(F64_LE, i);
                case F32 -> s.getAtIndex(F32_LE, i);
                case F16 -> DType.f16ToF32(s.getAtIndex(I16_LE, i));
                case BF16 -> DType.bf16ToF32(s.getAtIndex(I16_LE, i));
                case I64 -> s.getAtIndex(I64_LE, i);
                case I32 -> s.getAtIndex(I32_LE, i);
                case I16 -> s.getAtIndex(I16_LE, i);
                case I8, BOOL -> s.get(ValueLayout.JAVA_BYTE, i);
                case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            };
        return out;
    }

    /** An integer (or bool) tensor's values as longs (a copy). Float tensors are refused. */
    public long[] longs(String name) {
        Entry e = entry(name);
        if (e.dtype().isFloat()) throw err(file, "tensor '" + name + "' has dtype " + e.dtype() + ", expected an integer type");
        MemorySegment s = bytes(name);
        int n = Math.toIntExact(e.numel());
        long[] out = new long[n];
        for (int i = 0; i < n; i++)
            out[i] = switch (e.dtype()) {
                case I64 -> s.getAtIndex(I64_LE, i);
                case I32 -> s.getAtIndex(I32_LE, i);
                case I16 -> s.getAtIndex(I16_LE, i);
                case I8, BOOL -> s.get(ValueLayout.JAVA_BYTE, i);
                case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                default -> throw new IllegalStateException();
            };
        return out;
    }

    /** True if {@code path} starts like a safetensors file (plausible header length followed by '{'). */
    public static boolean looksLikeSafeTensors(Path path) {
        try (var in = Files.newInputStream(path)) {
            byte[] b = in.readNBytes(9);
            if (b.length < 9) return false;
            long n = 0;
            for (int i = 7; i >= 0; i--) n = (n << 8) | (b[i] & 0xff);
            return n > 1 && n < MAX_HEADER && b[8] == '{';
        } catch (IOException e) {
            return false;
        }
    }
}
