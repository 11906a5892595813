package dev.stitch.eval.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code scores.jsonl}: one JSON object per finished item, each with an integer {@code "item"} (its index in the
 * full item list), appended (the file is opened in append mode) and forced to disk one line at a time, so a kill or
 * a full disk can at worst leave a last line without its newline: {@link #open} drops such a line (truncating the
 * file to its last complete line) and the item is simply done again. One process writes at a time ({@link RunLock}). A complete line that is not a JSON object with an item,
 * or an item seen twice, is corruption and a {@link UserError}.
 */
public final class ScoresFile implements AutoCloseable {
    private final Path file;
    private final FileChannel ch;
    private final Map<Integer, ObjectNode> done;

    private ScoresFile(Path file, FileChannel ch, Map<Integer, ObjectNode> done) {
        this.file = file;
        this.ch = ch;
        this.done = done;
    }

    /** What a file holds: the finished lines by item, and the bytes of an incomplete last line (0 if none). */
    public record Contents(Map<Integer, ObjectNode> lines, long completeBytes, int partialBytes) {}

    /** Reads {@code file} without changing it (a missing file is empty). */
    public static Contents read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') end--;
        Map<Integer, ObjectNode> lines = new TreeMap<>();
        String text = new String(bytes, 0, end, StandardCharsets.UTF_8);
        int lineNo = 0;
        for (String s : text.split("\n", -1)) {
            lineNo++;
            if (s.isBlank()) continue;
            JsonNode n;
            try {
                n = Jsonl.JSON.readTree(s);
            } catch (JsonProcessingException e) {
                throw new UserError(file + ":" + lineNo + ": not valid JSON (the file is damaged; a run only ever appends whole lines)");
            }
            if (!(n instanceof ObjectNode o) || !o.path("item").isIntegralNumber() || !o.path("item").canConvertToInt() || o.path("item").intValue() < 0)
                throw new UserError(file + ":" + lineNo + ": expected an object with a non-negative integer \"item\"");
            int item = o.get("item").intValue();
            if (lines.put(item, o) != null) throw new UserError(file + ":" + lineNo + ": item " + item + " is already scored on an earlier line");
        }
        return new Contents(Collections.unmodifiableMap(lines), end, bytes.length - end);
    }

    /** Opens for appending (only ever appending), after dropping an incomplete last line left by a kill or a full disk. */
    public static ScoresFile open(Path file) {
        Contents c = read(file);
        try {
            if (c.partialBytes() > 0)
                try (FileChannel cut = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    cut.truncate(c.completeBytes());
                    cut.force(true);
                }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            return new ScoresFile(file, ch, new TreeMap<>(c.lines()));
        } catch (IOException e) {
            throw new UserError("cannot open " + file + " for appending (" + e.getMessage() + ")");
        }
    }

    public Path file() { return file; }

    public synchronized boolean isDone(int item) { return done.containsKey(item); }

    public synchronized int size() { return done.size(); }

    /** The finished lines, in item order. */
    public synchronized List<ObjectNode> lines() { return new ArrayList<>(done.values()); }

    /** Appends one finished item's line (it must carry its {@code "item"}) and forces it to disk. */
    public synchronized void append(ObjectNode line) {
        JsonNode it = line.get("item");
        if (it == null || !it.canConvertToInt() || !it.isIntegralNumber()) throw new IllegalArgumentException("score line without an integer item: " + line);
        int item = it.intValue();
        if (done.containsKey(item)) throw new IllegalStateException("item " + item + " is already in " + file);
        ByteBuffer b = ByteBuffer.wrap((line.toString() + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        } catch (IOException e) {
            throw new UserError("cannot append to " + file + " (" + e.getMessage() + "); the finished items are kept: free some"
                + " space and rerun to resume");
        }
        done.put(item, line);
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
