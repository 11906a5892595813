package dev.stitch.convert;

import dev.stitch.engine.io.InputFiles;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An original single-file checkpoint opened for reading: a {@code .safetensors} file or a PyTorch zip archive
 * ({@code .ckpt}, {@code .pt}, {@code .pth}), told apart by their first bytes, never by the file name. Tensors are
 * listed by name and read one at a time.
 */
public final class Checkpoint {
    public enum Format { SAFETENSORS, TORCH_ZIP }

    private final Path file;
    private final Format format;
    private final Map<String, StoredTensor> tensors;

    Checkpoint(Path file, Format format, Map<String, StoredTensor> tensors) {
        this.file = file;
        this.format = format;
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    public static Checkpoint open(Path file) {
        if (Files.isDirectory(file)) throw new UserError(file + ": is a folder; expected a checkpoint file (.safetensors, .ckpt, .pt, .pth)");
        InputFiles.regular(file);
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(9);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5))
            return TorchZip.read(file);
        if (SafeTensors.looksLikeSafeTensors(file)) return fromSafeTensors(file);
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] <= 5)
            throw new UserError(file + ": unsupported legacy PyTorch format (a bare pickle from before PyTorch 1.6); "
                + "re-save it with a recent PyTorch (torch.save with the zip format), or convert it to .safetensors");
        throw new UserError(file + ": not a checkpoint: expected a .safetensors file or a PyTorch zip archive (.ckpt, .pt, .pth)");
    }

    private static Checkpoint fromSafeTensors(Path file) {
        SafeTensors st = SafeTensors.open(file);
        Map<String, StoredTensor> m = new LinkedHashMap<>();
        for (var e : st.entries().values())
            m.put(e.name(), new StoredTensor(e.name(), e.dtype(), e.shape(), () -> st.bytes(e.name())));
        return new Checkpoint(file, Format.SAFETENSORS, m);
    }

    public Path file() { return file; }
    public Format format() { return format; }

    /** Every tensor, in file order. */
    public Map<String, StoredTensor> tensors() { return tensors; }

    public boolean contains(String name) { return tensors.containsKey(name); }

    public StoredTensor get(String name) {
        StoredTensor t = tensors.get(name);
        if (t == null) throw new UserError(file + ": no tensor named '" + name + "'");
        return t;
    }
}
