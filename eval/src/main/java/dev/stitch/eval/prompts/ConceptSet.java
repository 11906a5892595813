package dev.stitch.eval.prompts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A prompt set for concepts given by example images, as copyright-protection studies (CPDM) give a style or a
 * character: each row has a {@code prompt}, its {@code concept} and {@code anchors}, paths of the concept's anchor
 * images relative to the prompt file's folder. A concept's anchors are those of all its rows (each image once, in the
 * order first listed), so a row may leave {@code anchors} empty when another row of its concept lists them; a
 * concept without any anchor is an error. The concept becomes the item's category ({@code --category} picks one).
 * <ul>
 *   <li>{@code .csv}: columns {@code prompt}, {@code concept}, {@code anchors} (paths separated by {@code |}), and
 *       optionally {@code seed}/{@code evaluation_seed} and {@code guidance}/{@code evaluation_guidance};</li>
 *   <li>{@code .jsonl}: {@code {"prompt": "...", "concept": "...", "anchors": ["a.png", ...], "seed"?, "guidance"?}}.</li>
 * </ul>
 */
public record ConceptSet(List<PromptItem> items, Map<String, List<Path>> anchors) {
    /** The separator of anchor paths in a CSV field (a character no Windows file name has). */
    public static final String SEPARATOR = "|";
    private static final Set<String> JSON_KEYS = Set.of("prompt", "concept", "anchors", "seed", "guidance");

    public ConceptSet {
        items = List.copyOf(items);
        anchors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(anchors));
    }

    /** Whether {@code file} is a concept set: a CSV with a {@code concept} column, or JSON Lines with a {@code concept} key. */
    public static boolean is(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return Csv.readTable(file).has("concept");
        return name.endsWith(".jsonl") && Jsonl.read(file).stream().anyMatch(l -> l.value().has("concept"));
    }

    /** Reads a concept set; a file of another kind is an error saying what a concept set has. */
    public static ConceptSet load(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return fromCsv(file, Csv.readTable(file));
        if (name.endsWith(".jsonl")) return fromJsonl(file, Jsonl.read(file));
        throw new UserError(file + ": not a concept set (expected a .csv or .jsonl file with prompt, concept and anchors)");
    }

    static ConceptSet fromCsv(Path file, Csv.Table t) {
        for (String c : List.of("prompt", "concept", "anchors"))
            if (!t.has(c)) throw new UserError(t.source() + ": no column '" + c + "' (a concept set has prompt, concept and anchors; the header has " + t.header() + ")");
        if (t.has("category") || t.has("categories"))
            throw new UserError(t.source() + ": a concept set has no category column (the concept is the item's category)");
        List<PromptItem> base = PromptSet.fromCsv(t);
        Builder b = new Builder(file);
        for (int i = 0; i < base.size(); i++) {
            Csv.Record r = t.records().get(i);
            String where = t.source() + ":" + r.line();
            List<String> paths = Arrays.stream(t.get(r, "anchors").split("\\" + SEPARATOR)).map(String::strip).filter(s -> !s.isEmpty()).toList();
            b.add(base.get(i), t.get(r, "concept"), paths, where, "column 'concept'", "column 'anchors'");
        }
        return b.build();
    }

    static ConceptSet fromJsonl(Path file, List<Jsonl.Line> lines) {
        Builder b = new Builder(file);
        for (Jsonl.Line l : lines) {
            String where = file + ":" + l.line();
            JsonNode o = l.value();
            if (o == null || !o.isObject()) throw new UserError(where + ": expected a JSON object like {\"prompt\": \"...\", \"concept\": \"...\", \"anchors\": [\"a.png\"]}");
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!JSON_KEYS.contains(k)) throw new UserError(where + ": unknown key '" + k + "' (expected prompt, concept, anchors, seed, guidance)");
            }
            JsonNode c = o.get("concept"), a = o.get("anchors");
            if (c == null || !c.isTextual()) throw new UserError(where + ": 'concept' must be a string");
            List<String> paths = new ArrayList<>();
            if (a != null && !a.isNull()) {
                if (!a.isArray()) throw new UserError(where + ": 'anchors' must be a list of image paths, got " + a);
                for (JsonNode p : a) {
                    if (!p.isTextual()) throw new UserError(where + ": 'anchors' must be a list of image paths, got " + p);
                    paths.add(p.textValue().strip());
                }
            }
            ObjectNode rest = ((ObjectNode) o).deepCopy();
            rest.remove(List.of("concept", "anchors"));
            b.add(PromptItem.fromJson(rest, where), c.textValue(), paths, where, "'concept'", "'anchors'");
        }
        return b.build();
    }

    /** Gathers rows: each concept's anchors once, every path checked to be a regular file. */
    private static final class Builder {
        private final Path file, dir;
        private final List<PromptItem> items = new ArrayList<>();
        private final Map<String, Set<Path>> anchors = new LinkedHashMap<>();
        private final Map<String, String> firstRow = new LinkedHashMap<>();

        Builder(Path file) {
            this.file = file;
            Path parent = file.toAbsolutePath().getParent();
            this.dir = parent == null ? Path.of("") : parent;
        }

        void add(PromptItem item, String concept, List<String> paths, String where, String conceptField, String anchorsField) {
            String c = concept.strip();
            if (c.isEmpty()) throw new UserError(where + ": " + conceptField + " is empty, expected the concept's name");
            if (c.contains(",")) throw new UserError(where + ": " + conceptField + " is '" + c + "', expected one concept (no commas)");
            Set<Path> set = anchors.computeIfAbsent(c, k -> new LinkedHashSet<>());
            firstRow.putIfAbsent(c, where);
            for (String p : paths) {
                if (p.isEmpty()) throw new UserError(where + ": " + anchorsField + " has an empty path");
                Path img = dir.resolve(p).normalize();
                if (!Files.isRegularFile(img))
                    throw new UserError(where + ": " + anchorsField + ": no such image " + p + " (paths are relative to the folder of " + file.getFileName() + ")");
                set.add(img);
            }
            items.add(item.withCategory(c));
        }

        ConceptSet build() {
            if (items.isEmpty()) throw new UserError(file + ": no prompts");
            Map<String, List<Path>> out = new LinkedHashMap<>();
            anchors.forEach((c, s) -> {
                if (s.isEmpty()) throw new UserError(firstRow.get(c) + ": concept '" + c + "' has no anchor image in any row");
                out.put(c, List.copyOf(s));
            });
            return new ConceptSet(items, out);
        }
    }
}
