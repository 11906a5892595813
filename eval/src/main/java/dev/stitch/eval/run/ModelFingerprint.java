package dev.stitch.eval.run;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A SHA-256 that tells models apart without reading their weights: for every file of a model folder (two levels
 * deep, in name order; a single checkpoint file is its own list) its relative name, its size and its first
 * {@value #HEAD_BYTES} bytes. That covers every config and tokenizer file whole and each safetensors header (tensor
 * names, shapes, offsets) with the start of its data, so another model under the same folder name is caught on
 * resume, in a second or so at SD2 size.
 */
public final class ModelFingerprint {
    static final int HEAD_BYTES = 1 << 20;

    private ModelFingerprint() {}

    public static String sha256(Path model) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            Path root = model.toAbsolutePath().normalize();
            List<Path> files;
            if (Files.isRegularFile(root)) files = List.of(root);
            else try (Stream<Path> s = Files.walk(root, 2)) {
                files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
            }
            byte[] head = new byte[HEAD_BYTES];
            for (Path f : files) {
                String name = Files.isRegularFile(root) ? f.getFileName().toString() : root.relativize(f).toString().replace('\\', '/');
                md.update((name + "\0" + Files.size(f) + "\0").getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(f)) {
                    int n = in.readNBytes(head, 0, head.length);
                    md.update(head, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UserError("cannot read the model " + model + " (" + e.getMessage() + ")");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
