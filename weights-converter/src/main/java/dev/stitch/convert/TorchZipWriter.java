package dev.stitch.convert;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.SafeDType;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a state dict in PyTorch's zip format, as {@code torch.save} does (pickle protocol 2): records
 * {@code archive/data.pkl}, {@code archive/byteorder}, {@code archive/data/<n>} (stored, 64-byte aligned) and
 * {@code archive/version}. Tensors may be views (offset, strides) of a shared storage, which is how tests build the
 * awkward cases a reader must handle. The file is written atomically.
 */
public final class TorchZipWriter {
    /** Storage bytes are fetched only while writing (twice: checksum, then data), never all held at once. */
    private record Storage(SafeDType dtype, long byteSize, Supplier<MemorySegment> bytes) {}

    private record View(String name, int storage, long offset, long[] size, long[] stride) {}

    private static final Map<SafeDType, String> STORAGE_CLASS = Map.of(
        SafeDType.F32, "FloatStorage", SafeDType.F16, "HalfStorage", SafeDType.BF16, "BFloat16Storage",
        SafeDType.F64, "DoubleStorage", SafeDType.I64, "LongStorage", SafeDType.I32, "IntStorage",
        SafeDType.I16, "ShortStorage", SafeDType.I8, "CharStorage", SafeDType.U8, "ByteStorage", SafeDType.BOOL, "BoolStorage");

    private final List<Storage> storages = new ArrayList<>();
    private final List<View> views = new ArrayList<>();
    private boolean lightning;

    /** Wraps the tensors as a Lightning checkpoint does: {@code {"global_step": N, "state_dict": {...}}}. */
    public TorchZipWriter lightningWrapper(boolean on) {
        this.lightning = on;
        return this;
    }

    /** Adds a storage (little-endian elements of {@code dtype}) and returns its key. */
    public int storage(SafeDType dtype, MemorySegment bytes) {
        if (bytes.byteSize() % dtype.bytes != 0) throw new IllegalArgumentException("storage of " + bytes.byteSize() + " bytes for " + dtype);
        storages.add(new Storage(dtype, bytes.byteSize(), () -> bytes));
        return storages.size() - 1;
    }

    /** A tensor viewing {@code storage} at element {@code offset} with the given size and strides (in elements). */
    public TorchZipWriter view(String name, int storage, long offset, long[] size, long[] stride) {
        views.add(new View(name, storage, offset, size.clone(), stride.clone()));
        return this;
    }

    /** A contiguous tensor with its own storage. */
    public TorchZipWriter add(StoredTensor t) {
        long[] size = t.shape(), stride = new long[size.length];
        long s = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= size[i];
        }
        storages.add(new Storage(t.dtype(), t.byteSize(), t::bytes));
        return view(t.name(), storages.size() - 1, 0, size, stride);
    }

    public void write(Path file) {
        AtomicFiles.write(file, tmp -> {
            try (var counting = new Counting(Files.newOutputStream(tmp)); var zip = new ZipOutputStream(counting)) {
                stored(zip, counting, "archive/data.pkl", MemorySegment.ofArray(pickle()));
                stored(zip, counting, "archive/byteorder", MemorySegment.ofArray("little".getBytes(StandardCharsets.US_ASCII)));
                for (int i = 0; i < storages.size(); i++) stored(zip, counting, "archive/data/" + i, storages.get(i).bytes());
                stored(zip, counting, "archive/version", MemorySegment.ofArray("3\n".getBytes(StandardCharsets.US_ASCII)));
            }
        });
    }

    /** One uncompressed record, its data padded to a 64-byte boundary with an extra field as PyTorch does. */
    private static void stored(ZipOutputStream zip, Counting counting, String name, MemorySegment bytes) throws IOException {
        stored(zip, counting, name, () -> bytes);
    }

    private static void stored(ZipOutputStream zip, Counting counting, String name, Supplier<MemorySegment> source) throws IOException {
        MemorySegment data = source.get();
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.byteSize());
        e.setCompressedSize(data.byteSize());
        CRC32 crc = new CRC32();
        byte[] buf = new byte[1 << 20];
        for (long p = 0; p < data.byteSize(); p += buf.length) {
            int k = (int) Math.min(buf.length, data.byteSize() - p);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, p, buf, 0, k);
            crc.update(buf, 0, k);
        }
        e.setCrc(crc.getValue());
        e.setTime(946684800000L);                      // a fixed date: same bytes for the same tensors
        if (data.byteSize() < 0xffffffffL) {
            long header = counting.count + 30 + name.getBytes(StandardCharsets.UTF_8).length + 4;
            int pad = (int) ((64 - header % 64) % 64);
            byte[] extra = new byte[4 + pad];
            extra[0] = 'F';
            extra[1] = 'B';
            extra[2] = (byte) pad;
            extra[3] = (byte) (pad >> 8);
            e.setExtra(extra);
        }
        zip.putNextEntry(e);
        data = source.get();                              // fetched again: a converted tensor is not kept between passes
        for (long p = 0; p < data.byteSize(); p += buf.length) {
            int k = (int) Math.min(buf.length, data.byteSize() - p);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, p, buf, 0, k);
            zip.write(buf, 0, k);
        }
        zip.closeEntry();
    }

    // ---- pickle, protocol 2, the opcodes torch.save emits for a state dict ----

    byte[] pickle() {
        Pickle p = new Pickle();
        p.op(0x80).op(2);                                                    // PROTO 2
        if (lightning) {
            p.op('}').op('(');                                               // EMPTY_DICT MARK
            p.str("global_step").integer(1234);
            p.str("state_dict");
        }
        p.global("collections", "OrderedDict").op(')').op('R');              // OrderedDict()
        if (!views.isEmpty()) {
            p.op('(');
            for (View v : views) {
                p.str(v.name());
                p.global("torch._utils", "_rebuild_tensor_v2");
                p.op('(');
                Storage s = storages.get(v.storage());
                p.op('(').str("storage").global("torch", STORAGE_CLASS.get(s.dtype())).str(Integer.toString(v.storage()))
                    .str("cpu").integer(s.byteSize() / s.dtype().bytes).op('t').op('Q');   // BINPERSID
                p.integer(v.offset()).tuple(v.size()).tuple(v.stride()).op(0x89);                   // requires_grad False
                p.global("collections", "OrderedDict").op(')').op('R');                             // backward hooks
                p.op('t').op('R');
            }
            p.op('u');                                                       // SETITEMS
        }
        if (lightning) p.op('u');
        p.op('.');
        return p.out.toByteArray();
    }

    private static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int b) {
            out.write(b);
            return this;
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            le(b.length, 4);
            out.writeBytes(b);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle integer(long v) {
            if (v >= 0 && v < 256) { op('K'); le(v, 1); }
            else if (v >= 0 && v < 65536) { op('M'); le(v, 2); }
            else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) { op('J'); le(v, 4); }
            else { op(0x8a); op(8); le(v, 8); }                              // LONG1, 8 bytes
            return this;
        }

        Pickle tuple(long[] items) {
            if (items.length == 0) return op(')');
            op('(');
            for (long v : items) integer(v);
            return op('t');
        }

        void le(long v, int n) {
            for (int i = 0; i < n; i++) out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }

    private static final class Counting extends FilterOutputStream {
        long count;

        Counting(OutputStream out) { super(out); }

        @Override public void write(int b) throws IOException { out.write(b); count++; }

        @Override public void write(byte[] b, int off, int len) throws IOException { out.write(b, off, len); count += len; }
    }
}
