package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The judge's audit trail, a JSON Lines file in the run folder: every request (with the image replaced by its
 * file name and SHA-256), every raw response or transport error, and every final judgement, one object per line,
 * appended and forced to disk. As a last guard, any occurrence of the API key in a line is replaced by
 * {@code [redacted]} before it is written (keys shorter than 8 characters are not searched for).
 */
public final class AuditLog implements AutoCloseable {
    private final Path file;
    private final FileChannel ch;
    private final String secret, secretEscaped;

    public AuditLog(Path file, String secret) {
        this.file = file;
        this.secret = secret != null && secret.length() >= 8 ? secret : null;
        // the key as it would appear inside a JSON string, should it hold characters JSON escapes
        String q = this.secret == null ? null : com.fasterxml.jackson.databind.node.TextNode.valueOf(this.secret).toString();
        this.secretEscaped = q == null ? null : q.substring(1, q.length() - 1);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the judge audit log " + file, e);
        }
    }

    public Path file() { return file; }

    /** Appends {@code event} with a {@code time} field added first. */
    public synchronized void append(String kind, ObjectNode event) {
        ObjectNode line = event.objectNode();
        line.put("time", Instant.now().toString());
        line.put("event", kind);
        line.setAll(event);
        String s = redact(line.toString());
        ByteBuffer b = ByteBuffer.wrap((s + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the judge audit log " + file, e);
        }
    }

    /** {@code s} with the key, raw or JSON-escaped, replaced by {@code [redacted]}. */
    public String redact(String s) {
        return secret == null || s == null ? s : s.replace(secret, "[redacted]").replace(secretEscaped, "[redacted]");
    }

    @Override
    public synchronized void close() {
        try {
            ch.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
