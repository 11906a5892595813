package dev.stitch.convert;

import dev.stitch.convert.RestrictedUnpickler.Global;
import dev.stitch.convert.RestrictedUnpickler.TensorRef;
import dev.stitch.convert.RestrictedUnpickler.Tuple;
import dev.stitch.engine.io.InputFiles;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a PyTorch checkpoint in the zip format that {@code torch.save} writes since 1.6:
 * {@code <archive>/data.pkl} (the object tree, read by {@link RestrictedUnpickler}), {@code <archive>/data/<key>}
 * (raw storages, little-endian unless {@code <archive>/byteorder} says {@code big}). A Lightning checkpoint keeps
 * the weights under {@code "state_dict"}; a bare state dict is the top-level object.
 */
public final class TorchZip {
    /** A typed storage: {@code numel} elements of {@code dtype} in the record {@code data/<key>}. */
    record Storage(String key, SafeDType dtype, long numel, ZipIndex.Entry entry) {}

    private TorchZip() {}

    public static Checkpoint read(Path file) {
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(InputFiles.regular(file), StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        ZipIndex zip = ZipIndex.read(file, all);
        String prefix = archivePrefix(file, zip);
        boolean bigEndian = false;
        ZipIndex.Entry bo = zip.entries.get(prefix + "byteorder");
        if (bo != null) {
            String order = new String(zip.data(bo).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little") && !order.equals("big")) throw new UserError(file + ": byteorder record says '" + order + "'");
            bigEndian = order.equals("big");
        }
        byte[] pickle = zip.data(zip.entries.get(prefix + "data.pkl")).toArray(ValueLayout.JAVA_BYTE);
        String source = file + ": " + prefix + "data.pkl";
        Object root = RestrictedUnpickler.load(source, pickle, pid -> storage(file, zip, prefix, pid));

        Map<?, ?> dict = root instanceof Map<?, ?> m ? m : null;
        if (dict == null) throw new UserError(source + " holds a " + RestrictedUnpickler.typeName(root) + ", not a state dict");
        if (dict.get("state_dict") instanceof Map<?, ?> sd) dict = sd;
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        for (var e : dict.entrySet())
            if (e.getKey() instanceof String name && e.getValue() instanceof TensorRef t)
                tensors.put(name, tensor(file, name, t, bigEndian, zip));
        if (tensors.isEmpty()) throw new UserError(source + " holds no tensors: not a model state dict");
        return new Checkpoint(file, Checkpoint.Format.TORCH_ZIP, tensors);
    }

    /** The folder inside the zip that holds data.pkl ("archive/" from torch, the file stem from older versions). */
    private static String archivePrefix(Path file, ZipIndex zip) {
        for (String n : zip.entries.keySet()) {
            int slash = n.indexOf('/');
            if (slash > 0 && n.substring(slash + 1).equals("data.pkl")) return n.substring(0, slash + 1);
        }
        if (zip.entries.containsKey("data.pkl")) return "";
        List<String> names = zip.entries.keySet().stream().limit(5).toList();
        throw new UserError(file + ": a zip archive without data.pkl, so not a PyTorch checkpoint (holds " + zip.entries.size()
            + " entries" + (names.isEmpty() ? "" : ", e.g. " + String.join(", ", names)) + ")");
    }

    /** Persistent id {@code ('storage', torch.HalfStorage, '<key>', '<location>', numel)}. */
    private static Storage storage(Path file, ZipIndex zip, String prefix, Tuple pid) {
        if (pid.size() != 5 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof Global type)
            || !(pid.get(2) instanceof String key) || !(pid.get(4) instanceof Long numel))
            throw new UserError(file + ": unexpected persistent id in data.pkl (a tuple of " + pid.size()
                + " values, expected ('storage', type, key, location, size))");
        SafeDType dtype = RestrictedUnpickler.STORAGE_TYPES.get(type.qualified());
        if (dtype == null) throw new UserError(file + ": storage type " + type.qualified() + " is not a tensor storage");
        ZipIndex.Entry e = zip.entries.get(prefix + "data/" + key);
        if (e == null) throw new UserError(file + ": storage record " + prefix + "data/" + key + " is missing (truncated archive?)");
        if (e.size() < numel * dtype.bytes)
            throw new UserError(file + ": storage " + key + " holds " + e.size() + " bytes, but " + numel + " x " + dtype + " need " + numel * dtype.bytes);
        return new Storage(key, dtype, numel, e);
    }

    private static StoredTensor tensor(Path file, String name, TensorRef t, boolean bigEndian, ZipIndex zip) {
        if (!(t.storage() instanceof Storage s)) throw new UserError(file + ": tensor '" + name + "' has no storage");
        long numel = 1, last = t.offset();
        try {   // a hostile size or stride must not wrap around past the bounds check below
            for (int i = 0; i < t.size().length; i++) {
                numel = Math.multiplyExact(numel, t.size()[i]);
                if (t.size()[i] > 0) last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
            }
            Math.multiplyExact(Math.max(last, numel), (long) s.dtype().bytes);
        } catch (ArithmeticException e) {
            throw new UserError(file + ": tensor '" + name + "' " + Arrays.toString(t.size()) + " with stride " + Arrays.toString(t.stride())
                + " at offset " + t.offset() + " reaches past any storage (damaged file?)");
        }
        if (numel > 0 && last >= s.numel())
            throw new UserError(file + ": tensor '" + name + "' " + Arrays.toString(t.size()) + " at offset " + t.offset()
                + " reaches element " + last + " of a storage of " + s.numel());
        int es = s.dtype().bytes;
        long n = numel;
        boolean contiguous = isContiguous(t.size(), t.stride());
        return new StoredTensor(name, s.dtype(), t.size(), () -> {
            MemorySegment data = zip.data(s.entry());
            MemorySegment out = contiguous ? data.asSlice(t.offset() * es, n * es) : gather(data, t, es, n);
            return bigEndian && es > 1 ? swapped(out, es) : out;
        });
    }

    /** Row-major strides for this size (axes of size 1 may have any stride). */
    static boolean isContiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expected) return false;
            expected *= size[i];
        }
        return true;
    }

    /** Copies a strided view into a new contiguous buffer, innermost runs at once where they are contiguous. */
    private static MemorySegment gather(MemorySegment data, TensorRef t, int es, long numel) {
        long[] size = t.size(), stride = t.stride();
        int r = size.length;
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(numel * es)]);
        if (numel == 0) return out;
        long inner = size[r - 1];
        boolean run = stride[r - 1] == 1;
        long[] idx = new long[r];
        long at = 0;
        while (true) {
            long src = t.offset();
            for (int i = 0; i < r - 1; i++) src += idx[i] * stride[i];
            if (run) {
                MemorySegment.copy(data, src * es, out, at, inner * es);
                at += inner * es;
            } else {
                for (long j = 0; j < inner; j++, at += es) MemorySegment.copy(data, (src + j * stride[r - 1]) * es, out, at, es);
            }
            int d = r - 2;
            while (d >= 0 && ++idx[d] == size[d]) idx[d--] = 0;
            if (d < 0) return out;
        }
    }

    private static MemorySegment swapped(MemorySegment in, int es) {
        byte[] b = in.toArray(ValueLayout.JAVA_BYTE);
        for (int i = 0; i < b.length; i += es)
            for (int a = i, z = i + es - 1; a < z; a++, z--) {
                byte x = b[a];
                b[a] = b[z];
                b[z] = x;
            }
        return MemorySegment.ofArray(b);
    }
}
