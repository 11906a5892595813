package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * One tensor of a checkpoint, read lazily: its name, file dtype, shape, and a way to get its contiguous little-endian
 * bytes. For most tensors the bytes are a view of the memory-mapped file, so listing a 5 GB checkpoint costs nothing
 * and converting it touches one tensor at a time.
 */
public final class StoredTensor {
    private final String name;
    private final SafeDType dtype;
    private final long[] shape;
    private final Supplier<MemorySegment> bytes;

    public StoredTensor(String name, SafeDType dtype, long[] shape, Supplier<MemorySegment> bytes) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = bytes;
    }

    /** A tensor over bytes already at hand (the segment's size must match). */
    public static StoredTensor of(String name, SafeDType dtype, long[] shape, MemorySegment bytes) {
        StoredTensor t = new StoredTensor(name, dtype, shape, () -> bytes);
        if (bytes.byteSize() != t.byteSize())
            throw new IllegalArgumentException(name + ": " + bytes.byteSize() + " bytes for " + Arrays.toString(shape) + " " + dtype);
        return t;
    }

    public String name() { return name; }
    public SafeDType dtype() { return dtype; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public long byteSize() { return numel() * dtype.bytes; }

    /** The contiguous little-endian bytes (often a view of a mapped file: do not write to it). */
    public MemorySegment bytes() {
        MemorySegment s = bytes.get();
        if (s.byteSize() != byteSize())
            throw new IllegalStateException(name + ": source gave " + s.byteSize() + " bytes, expected " + byteSize());
        return s;
    }

    /** The same bytes under another name and shape (a rename or a reshape with the same element count). */
    public StoredTensor as(String newName, long... newShape) {
        StoredTensor t = new StoredTensor(newName, dtype, newShape, bytes);
        if (t.numel() != numel())
            throw new IllegalArgumentException("cannot view " + name + " " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
        return t;
    }

    public StoredTensor renamed(String newName) { return as(newName, shape); }

    /** Rows {@code [from, to)} along the first axis, a contiguous byte range of the source. */
    public StoredTensor rows(String newName, long from, long to) {
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to)
            throw new IllegalArgumentException(name + ": rows " + from + ".." + to + " of " + Arrays.toString(shape));
        long rowBytes = byteSize() / Math.max(shape[0], 1);
        long[] s = shape.clone();
        s[0] = to - from;
        return new StoredTensor(newName, dtype, s, () -> bytes().asSlice(from * rowBytes, (to - from) * rowBytes));
    }

    /** Tensors of one dtype and equal trailing shape stacked along the first axis (copied when read). */
    public static StoredTensor concatRows(String name, List<StoredTensor> parts) {
        StoredTensor first = parts.getFirst();
        long rows = 0;
        for (StoredTensor p : parts) {
            if (p.dtype != first.dtype || p.rank() != first.rank()
                || !Arrays.equals(p.shape, 1, p.shape.length, first.shape, 1, first.shape.length))
                throw new IllegalArgumentException(name + ": cannot stack " + p.name + " " + Arrays.toString(p.shape) + " " + p.dtype
                    + " onto " + first.name + " " + Arrays.toString(first.shape) + " " + first.dtype);
            rows += p.shape[0];
        }
        long[] s = first.shape.clone();
        s[0] = rows;
        return new StoredTensor(name, first.dtype, s, () -> {
            long total = 0;
            for (StoredTensor p : parts) total += p.byteSize();
            MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(total)]);
            long at = 0;
            for (StoredTensor p : parts) {
                MemorySegment.copy(p.bytes(), 0, out, at, p.byteSize());
                at += p.byteSize();
            }
            return out;
        });
    }

    /** A tensor of zeros (used for padding blocks that a model never reads). */
    public static StoredTensor zeros(String name, SafeDType dtype, long... shape) {
        StoredTensor t = new StoredTensor(name, dtype, shape, null);
        long n = t.byteSize();
        return new StoredTensor(name, dtype, shape, () -> MemorySegment.ofArray(new byte[Math.toIntExact(n)]));
    }

    /** {@code [0, 1, ..., n-1]} as I64 with the given shape. */
    public static StoredTensor arange(String name, long... shape) {
        StoredTensor t = new StoredTensor(name, SafeDType.I64, shape, null);
        long n = t.numel();
        return new StoredTensor(name, SafeDType.I64, shape, () -> {
            MemorySegment s = MemorySegment.ofArray(new byte[Math.toIntExact(n * 8)]);
            for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), i, i);
            return s;
        });
    }

    @Override
    public String toString() { return name + " " + dtype + " " + Arrays.toString(shape); }
}
