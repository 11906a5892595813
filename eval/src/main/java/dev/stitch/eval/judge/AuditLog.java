package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The judge's audit trail, a JSON Lines file in the run folder: every request (with the image replaced by its
 * file name and SHA-256), every raw response or transport error, and every final judgement, one object per line,
 * appended and forced to disk. As a last guard, every secret (the API key, whatever its length, and the credentials
 * of the URL) is replaced by {@code [redacted]} in every string of a line (names and values) before it is written;
 * numbers and the JSON structure are left alone, so each line stays valid JSON. A last line cut short by a kill or
 * a full disk is dropped when the log is opened again, so later lines never join it.
 */
public final class AuditLog implements AutoCloseable {
    private final Path file;
    private final FileChannel ch;
    private final List<String> secrets;

    public AuditLog(Path file, String secret) { this(file, secret == null ? List.of() : List.of(secret)); }

    public AuditLog(Path file, List<String> secrets) {
        this.file = file;
        LinkedHashSet<String> all = new LinkedHashSet<>();
        for (String s : secrets) {
            if (s == null || s.isEmpty()) continue;
            all.add(s);
            // the secret as it appears inside a JSON string, should it hold characters JSON escapes
            String q = TextNode.valueOf(s).toString();
            all.add(q.substring(1, q.length() - 1));
        }
        List<String> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingInt(String::length).reversed());   // a longer secret before one it contains
        this.secrets = List.copyOf(sorted);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            dropTornLine(file);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the judge audit log " + file, e);
        }
    }

    /** Cuts the file back to its last complete line. */
    private static void dropTornLine(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return;
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long end = c.size();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (end > 0) {
                one.clear();
                c.read(one, end - 1);
                if (one.get(0) == '\n') break;
                end--;
            }
            if (end < c.size()) {
                c.truncate(end);
                c.force(true);
            }
        }
    }

    public Path file() { return file; }

    /** Appends {@code event} with a {@code time} field added first. */
    public synchronized void append(String kind, ObjectNode event) {
        ObjectNode line = event.objectNode();
        line.put("time", Instant.now().toString());
        line.put("event", kind);
        line.setAll(event);
        String s = redacted(line).toString();
        ByteBuffer b = ByteBuffer.wrap((s + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        } catch (IOException e) {
            throw new UserError("cannot write the judge audit log " + file + " (" + e.getMessage() + "); free some space and rerun to resume");
        }
    }

    private JsonNode redacted(JsonNode n) {
        if (n.isTextual()) return TextNode.valueOf(redact(n.textValue()));
        if (n.isArray()) {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            n.forEach(e -> a.add(redacted(e)));
            return a;
        }
        if (n.isObject()) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            n.properties().forEach(e -> o.set(redact(e.getKey()), redacted(e.getValue())));
            return o;
        }
        return n;
    }

    /** {@code s} with every secret, raw or JSON-escaped, replaced by {@code [redacted]}. */
    public String redact(String s) {
        if (s == null) return null;
        for (String secret : secrets) s = s.replace(secret, "[redacted]");
        return s;
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
