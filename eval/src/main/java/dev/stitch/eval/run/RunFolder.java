package dev.stitch.eval.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.TreeSet;

/**
 * An evaluation run on disk:
 * <pre>
 * RUN/run.json       what was asked (written once; a rerun must ask exactly the same), plus "shard" and "item_count"
 * RUN/images/        the generated images
 * RUN/scores.jsonl   one line per finished item (see {@link ScoresFile})
 * RUN/report.html    written by the report
 * </pre>
 */
public final class RunFolder {
    public static final String RUN_JSON = "run.json", IMAGES = "images", SCORES = "scores.jsonl", REPORT = "report.html";
    static final String SHARD = "shard", ITEM_COUNT = "item_count";

    private final Path dir;
    private final ObjectNode spec;

    private RunFolder(Path dir, ObjectNode spec) {
        this.dir = dir;
        this.spec = spec;
    }

    /**
     * Creates the run folder, or reopens it to resume: then its run.json must equal this request (a different
     * request would mix incomparable scores in one file). {@code request} may not use the keys "shard" and
     * "item_count", which this adds.
     */
    public static RunFolder create(Path dir, ObjectNode request, Shard shard, int itemCount) {
        if (request.has(SHARD) || request.has(ITEM_COUNT))
            throw new IllegalArgumentException("the request may not set \"" + SHARD + "\" or \"" + ITEM_COUNT + "\"");
        ObjectNode spec = normalized(request);
        spec.put(SHARD, shard.toString());
        spec.put(ITEM_COUNT, itemCount);
        Path runJson = dir.resolve(RUN_JSON);
        if (Files.exists(runJson)) {
            ObjectNode existing = readSpec(runJson);
            String diff = firstDifference(existing, spec, "");
            if (diff != null)
                throw new UserError(runJson + " was written for a different run (" + diff
                    + "); use another output folder or delete this one");
        } else {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UserError("cannot create the run folder " + dir + " (" + e.getMessage() + ")");
            }
            writeAtomically(runJson, (spec.toPrettyString() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        try {
            Files.createDirectories(dir.resolve(IMAGES));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir.resolve(IMAGES), e);
        }
        return new RunFolder(dir, spec);
    }

    /** An existing run folder (for merging and reports). */
    public static RunFolder open(Path dir) {
        Path runJson = dir.resolve(RUN_JSON);
        if (!Files.isRegularFile(runJson)) throw new UserError(dir + ": not a run folder (no " + RUN_JSON + ")");
        ObjectNode spec = readSpec(runJson);
        if (!spec.path(SHARD).isTextual() || !spec.path(ITEM_COUNT).canConvertToInt())
            throw new UserError(runJson + ": expected \"" + SHARD + "\" and \"" + ITEM_COUNT + "\" entries");
        try {
            Shard.parse(spec.get(SHARD).textValue());
        } catch (SettingError e) {
            throw new UserError(runJson + ": \"" + SHARD + "\" is " + spec.get(SHARD) + ", " + e.problem());
        }
        return new RunFolder(dir, spec);
    }

    public Path dir() { return dir; }

    public Path images() { return dir.resolve(IMAGES); }

    public Path scoresFile() { return dir.resolve(SCORES); }

    /** run.json: the request plus shard and item count. */
    public ObjectNode spec() { return spec.deepCopy(); }

    /** What was asked: run.json without the shard and item count this class adds. */
    public ObjectNode request() {
        ObjectNode r = spec.deepCopy();
        r.remove(SHARD);
        r.remove(ITEM_COUNT);
        return r;
    }

    public Shard shard() { return Shard.parse(spec.get(SHARD).textValue()); }

    public int itemCount() { return spec.get(ITEM_COUNT).intValue(); }

    /** Opens scores.jsonl for appending (dropping a line cut short by a kill). */
    public ScoresFile openScores() { return ScoresFile.open(scoresFile()); }

    private static ObjectNode readSpec(Path runJson) {
        try {
            JsonNode n = Jsonl.JSON.readTree(Files.readString(runJson));
            if (n instanceof ObjectNode o) return o;
        } catch (JsonProcessingException e) {
            throw new UserError(runJson + ": not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + runJson, e);
        }
        throw new UserError(runJson + ": expected a JSON object");
    }

    /** A copy as it reads back from a file: number node types normalised, so equal requests compare equal. */
    static ObjectNode normalized(ObjectNode o) {
        try {
            return (ObjectNode) Jsonl.JSON.readTree(o.toString());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where two JSON values first differ, as "key.path: a vs b", or null when equal. */
    static String firstDifference(JsonNode a, JsonNode b, String path) {
        if (a.equals(b)) return null;
        if (a.isObject() && b.isObject()) {
            TreeSet<String> keys = new TreeSet<>();
            for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) keys.add(it.next());
            for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) keys.add(it.next());
            for (String k : keys) {
                String p = path.isEmpty() ? k : path + "." + k;
                if (!a.has(k)) return p + ": absent vs " + abbreviate(b.get(k));
                if (!b.has(k)) return p + ": " + abbreviate(a.get(k)) + " vs absent";
                String d = firstDifference(a.get(k), b.get(k), p);
                if (d != null) return d;
            }
        }
        if (a.isArray() && b.isArray() && a.size() == b.size())
            for (int i = 0; i < a.size(); i++) {
                String d = firstDifference(a.get(i), b.get(i), path + "[" + i + "]");
                if (d != null) return d;
            }
        return (path.isEmpty() ? "value" : path) + ": " + abbreviate(a) + " vs " + abbreviate(b);
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }

    /** Writes {@code file} whole or not at all: a temporary file beside it (default permissions), forced to disk, then renamed. */
    public static void writeAtomically(Path file, byte[] content) { AtomicFiles.write(file, content); }
}
