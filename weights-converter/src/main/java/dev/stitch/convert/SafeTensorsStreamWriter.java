package dev.stitch.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.SafeDType;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Writes a safetensors file tensor by tensor: the header is built from names, dtypes and shapes alone, then each
 * tensor's bytes are read (from a mapped checkpoint), converted in 1 MiB chunks and written. Heap use is one chunk,
 * whatever the model size. Atomic: temporary file beside the target, fsync, rename.
 */
final class SafeTensorsStreamWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    /** One output tensor: {@code source} stored as {@code dtype} (F32/F16/BF16/F64 interconvert; others are copied). */
    record Item(StoredTensor source, SafeDType dtype) {
        long bytes() { return source.numel() * dtype.bytes; }
    }

    private SafeTensorsStreamWriter() {}

    /**
     * Writes {@code items} to {@code file}; {@code written} hears the byte count after each chunk. Returns the number of
     * finite values that overflowed to infinity when narrowing.
     */
    static long write(Path file, List<Item> items, Map<String, String> metadata, LongConsumer written) {
        long[] overflow = {0};
        AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] h = header(items, metadata);
                writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
                writeFully(ch, ByteBuffer.wrap(h));
                byte[] buf = new byte[CHUNK];
                MemorySegment bufSeg = MemorySegment.ofArray(buf);
                for (Item it : items) {
                    StoredTensor t = it.source();
                    MemorySegment src = t.bytes();
                    long n = t.numel(), per = CHUNK / Math.max(t.dtype().bytes, it.dtype().bytes);
                    for (long i = 0; i < n; i += per) {
                        long k = Math.min(per, n - i);
                        overflow[0] += DTypeConversion.convert(src, t.dtype(), i, bufSeg, it.dtype(), 0, k);
                        int len = (int) (k * it.dtype().bytes);
                        writeFully(ch, ByteBuffer.wrap(buf, 0, len));
                        written.accept(len);
                    }
                    // Done with this tensor: let its mapped pages leave our resident set (they stay in the page cache).
                    if (src.isMapped()) src.unload();
                }
                ch.force(true);
            }
        });
        return overflow[0];
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes as the reference implementation does. */
    static byte[] header(List<Item> items, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Item it : items) {
            if (root.has(it.source().name())) throw new IllegalArgumentException("duplicate tensor name " + it.source().name());
            if (!DTypeConversion.convertible(it.source().dtype(), it.dtype()))
                throw new IllegalArgumentException(it.source() + " cannot be stored as " + it.dtype());
            ObjectNode e = root.putObject(it.source().name());
            e.put("dtype", it.dtype().name());
            var sh = e.putArray("shape");
            Arrays.stream(it.source().shape()).forEach(sh::add);
            e.putArray("data_offsets").add(offset).add(offset + it.bytes());
            offset += it.bytes();
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[(json.length + 7) / 8 * 8];
        Arrays.fill(out, (byte) ' ');
        System.arraycopy(json, 0, out, 0, json.length);
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
