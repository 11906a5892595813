package dev.stitch.convert;

import dev.stitch.kernels.UserError;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip file that is already memory-mapped, with ZIP64 (checkpoints pass 4 GB), so that a
 * stored (uncompressed) entry can be read as a slice of the mapping: no copy, no temporary file. PyTorch writes every
 * record stored; deflated records (other tools) are inflated into memory.
 */
final class ZipIndex {
    record Entry(String name, int method, long compressedSize, long size, long localHeaderOffset) {}

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment all;
    private final long size;
    final Map<String, Entry> entries = new LinkedHashMap<>();

    private ZipIndex(Path file, MemorySegment all) {
        this.file = file;
        this.all = all;
        this.size = all.byteSize();
    }

    static ZipIndex read(Path file, MemorySegment all) {
        ZipIndex z = new ZipIndex(file, all);
        z.readDirectory();
        return z;
    }

    private void readDirectory() {
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 65535); p--)
            if (u32(p) == 0x06054b50L) { eocd = p; break; }
        if (eocd < 0) throw err("no zip end-of-directory record (truncated, or not a zip file)");
        long count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            long loc = eocd - 20;
            if (loc < 0 || u32(loc) != 0x07064b50L) throw err("ZIP64 locator missing (truncated or damaged file)");
            long e64 = u64(loc + 8);
            if (e64 < 0 || e64 + 56 > size || u32(e64) != 0x06064b50L) throw err("ZIP64 end-of-directory record missing (truncated or damaged file)");
            count = u64(e64 + 32);
            cdSize = u64(e64 + 40);
            cdOffset = u64(e64 + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > size) throw err("zip directory lies past the end of the file (truncated?)");
        long p = cdOffset;
        for (long i = 0; i < count; i++) {
            need(p, 46);
            if (u32(p) != 0x02014b50L) throw err("damaged zip directory entry " + i);
            int flags = u16(p + 8), method = u16(p + 10);
            long comp = u32(p + 20), usize = u32(p + 24);
            int nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
            long local = u32(p + 42);
            need(p + 46, nameLen + extraLen + commentLen);
            String name = new String(all.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values, in this order, for each 32-bit field that is saturated.
            for (long x = p + 46 + nameLen, end = x + extraLen; x + 4 <= end; ) {
                int id = u16(x), n = u16(x + 2);
                long v = x + 4;
                if (id == 1) {
                    if (usize == 0xffffffffL) { usize = u64(v); v += 8; }
                    if (comp == 0xffffffffL) { comp = u64(v); v += 8; }
                    if (local == 0xffffffffL) { local = u64(v); }
                }
                x += 4 + n;
            }
            if ((flags & 1) != 0) throw err("zip entry '" + name + "' is encrypted");
            entries.put(name, new Entry(name, method, comp, usize, local));
            p += 46 + nameLen + extraLen + commentLen;
        }
    }

    /** The entry's bytes: a slice of the mapping when stored, an inflated copy when deflated. */
    MemorySegment data(Entry e) {
        long h = e.localHeaderOffset();
        need(h, 30);
        if (u32(h) != 0x04034b50L) throw err("zip entry '" + e.name() + "' has a damaged local header");
        long start = h + 30 + u16(h + 26) + u16(h + 28);
        if (start + e.compressedSize() > size || start + e.compressedSize() < start)
            throw err("zip entry '" + e.name() + "' runs past the end of the file (truncated download?)");
        MemorySegment raw = all.asSlice(start, e.compressedSize());
        return switch (e.method()) {
            case 0 -> raw;
            case 8 -> inflate(e, raw);
            default -> throw err("zip entry '" + e.name() + "' uses compression method " + e.method() + " (only stored and deflate are supported)");
        };
    }

    private MemorySegment inflate(Entry e, MemorySegment raw) {
        if (e.size() > Integer.MAX_VALUE - 16) throw err("zip entry '" + e.name() + "' is deflated and over 2 GB; re-save it with torch.save");
        byte[] out = new byte[(int) e.size()];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.asByteBuffer());
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                n += k;
            }
            if (n != out.length) throw err("zip entry '" + e.name() + "' inflates to " + n + " bytes, expected " + out.length);
        } catch (DataFormatException x) {
            throw err("zip entry '" + e.name() + "' is damaged (" + x.getMessage() + ")");
        } finally {
            inf.end();
        }
        return MemorySegment.ofArray(out);
    }

    private void need(long p, long n) {
        if (p < 0 || n < 0 || p + n > size) throw err("zip structure runs past the end of the file (truncated?)");
    }

    private long u32(long p) { need(p, 4); return all.get(U32, p) & 0xffffffffL; }
    private int u16(long p) { need(p, 2); return all.get(U16, p) & 0xffff; }
    private long u64(long p) { need(p, 8); return all.get(U64, p); }

    private UserError err(String what) { return new UserError(file + ": " + what); }
}
