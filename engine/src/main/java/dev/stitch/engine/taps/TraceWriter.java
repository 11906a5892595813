package dev.stitch.engine.taps;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streams captured tensors into one safetensors file without holding them: each tensor's f32 bytes go to a data
 * file beside the output as they arrive; {@link #commit} then writes the header with every offset followed by the
 * data, atomically (temporary file, then rename); meanwhile the disk holds the trace twice. Tensors are named
 * {@code TAP/step{k}/{cond|uncond}} and stored as F32.
 *
 * <pre>{@code
 * try (var trace = new TraceWriter(out, Map.of("model", dir, "prompt", p, "steps", "50", "seed", "7"));
 *      var h = taps.register("unet.up_blocks.*", trace.capture(Reduction.NONE).steps(atSteps))) {
 *     pipeline.generate(...);
 *     trace.commit();
 * }   // without commit (an exception), nothing is written and the data file is deleted
 * }</pre>
 */
public final class TraceWriter implements Capture.Sink, AutoCloseable {
    private record Item(String name, int[] shape, long offset, long bytes) {}

    private final Path out;
    private final Map<String, String> metadata;
    private final Path dataFile;
    private final FileChannel data;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 18).order(ByteOrder.LITTLE_ENDIAN);
    private final FloatBuffer floats = buffer.asFloatBuffer();     // a view of all of buffer, made while it is clear
    private final List<Item> items = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private long size;
    private boolean closed;

    /** Starts a trace that {@link #commit} will write to {@code out} with {@code metadata} (what was traced). */
    public TraceWriter(Path out, Map<String, String> metadata) {
        this.out = out;
        this.metadata = Map.copyOf(metadata);
        Path dir = out.toAbsolutePath().getParent();
        AtomicFiles.cleanStale(out);   // the data file of a killed run is as big as its trace
        Path df = null;
        try {
            Files.createDirectories(dir);
            df = AtomicFiles.tempBeside(out, ".data.tmp");
            data = FileChannel.open(df, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            if (df != null) try { Files.deleteIfExists(df); } catch (IOException ignored) {}
            throw new UserError("cannot write " + out + ": " + AtomicFiles.reason(e), e);
        }
        dataFile = df;
    }

    /** A capture into this trace (per step only: a stream cannot average). */
    public Capture capture(Reduction reduction) { return new Capture(this, reduction); }

    @Override
    public void put(CaptureKey key, Tensor value) { put(key.tensorName(), value); }

    /** Appends a host tensor's numbers to the data file; nothing of it is kept. */
    public void put(String name, Tensor value) {
        if (closed) throw new IllegalStateException("trace " + out + " is closed");
        if (!names.add(name)) throw new IllegalStateException("tensor " + name + " traced twice");
        float[] x = value.data();
        try {
            for (int i = 0; i < x.length; ) {
                int k = Math.min(floats.capacity(), x.length - i);
                floats.clear();
                floats.put(x, i, k);
                buffer.clear().limit(k * 4);
                while (buffer.hasRemaining()) data.write(buffer);
                i += k;
            }
        } catch (IOException e) {
            throw new UserError("cannot write " + out + " (its data file " + dataFile.getFileName() + "): " + AtomicFiles.reason(e), e);
        }
        items.add(new Item(name, value.shape(), size, x.length * 4L));
        size += x.length * 4L;
    }

    /** How many tensors have been written. */
    public int size() { return items.size(); }

    /** Writes the final file (header, then the data copied from the data file) atomically, and closes. */
    public void commit() {
        if (closed) throw new IllegalStateException("trace " + out + " is closed");
        try (Arena arena = Arena.ofConfined()) {
            data.force(false);
            MemorySegment all = size == 0 ? MemorySegment.NULL : data.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            // the writer copies the mapped slices through a small buffer: the numbers never come onto the heap
            SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
            for (Item it : items) {
                long[] shape = new long[it.shape.length];
                for (int i = 0; i < shape.length; i++) shape[i] = it.shape[i];
                w.add(it.name, SafeDType.F32, shape, it.bytes == 0 ? MemorySegment.NULL : all.asSlice(it.offset, it.bytes));
            }
            w.write(out);
        } catch (IOException e) {
            throw new UserError("cannot write " + out + ": " + AtomicFiles.reason(e), e);
        } finally {
            close();
        }
    }

    /** Deletes the data file; without {@link #commit} the trace is abandoned and {@code out} is left untouched. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            data.close();
            Files.deleteIfExists(dataFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dataFile + ": " + e.getMessage(), e);
        }
    }
}
