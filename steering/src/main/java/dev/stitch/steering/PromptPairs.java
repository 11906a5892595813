package dev.stitch.steering;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Paired prompts for extracting a steering vector (docs/design.md §5): each pair is a prompt with the concept
 * (positive) and the same prompt without it (negative). Read from
 * <ul>
 * <li>JSON Lines ({@code .jsonl}): one object per line, {@code {"positive": "...", "negative": "..."}};</li>
 * <li>CSV ({@code .csv}, RFC 4180): two columns, positive then negative, quoted fields may hold commas, quotes
 * ({@code ""}) and line breaks; an optional header row {@code positive,negative};</li>
 * <li>a template set ({@code .json}), built as CASteer builds its sets: every subject × every concept phrase,
 * {@code {"template": "{subject}, {concept}", "subjects": [...], "concepts": [...], "negative": ""}}, the
 * negative being the same template with the {@code negative} phrase (default empty).</li>
 * </ul>
 */
public record PromptPairs(List<Pair> pairs) {
    public record Pair(String positive, String negative) {}

    public PromptPairs {
        pairs = List.copyOf(pairs);
    }

    public int size() { return pairs.size(); }

    public List<String> positives() { return pairs.stream().map(Pair::positive).toList(); }

    public List<String> negatives() { return pairs.stream().map(Pair::negative).toList(); }

    /** Reads a pairs file, choosing the format by extension ({@code .jsonl}, {@code .csv}, {@code .json}). */
    public static PromptPairs read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such file");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new UserError(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String origin = file.toString();
        if (name.endsWith(".jsonl")) return parseJsonl(text, origin);
        if (name.endsWith(".csv")) return parseCsv(text, origin);
        if (name.endsWith(".json")) return parseTemplate(text, origin);
        throw new UserError(origin + ": unknown format; name it .jsonl (one {\"positive\", \"negative\"} object per line), "
            + ".csv (two columns) or .json (a template set)");
    }

    // ---------------------------------------------------------------- JSON Lines

    private static final ObjectMapper JSON = new ObjectMapper();

    public static PromptPairs parseJsonl(String text, String origin) {
        List<Pair> pairs = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            String where = origin + " line " + (i + 1);
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new UserError(where + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (node == null || !node.isObject()) throw new UserError(where + ": expected an object {\"positive\": ..., \"negative\": ...}");
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("positive") && !f.equals("negative"))
                    throw new UserError(where + ": unknown field '" + f + "' (expected positive and negative)");
            }
            pairs.add(new Pair(string(node, "positive", where), string(node, "negative", where)));
        }
        return nonEmpty(pairs, origin);
    }

    private static String string(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null) throw new UserError(where + ": missing \"" + field + "\"");
        if (!v.isTextual()) throw new UserError(where + ": \"" + field + "\" must be a string");
        return v.asText();
    }

    // ---------------------------------------------------------------- CSV (RFC 4180)

    public static PromptPairs parseCsv(String text, String origin) {
        List<Pair> pairs = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int line = 1, rowLine = 1, i = 0, n = text.length();
        boolean quoted = false, wasQuoted = false;
        while (i <= n) {
            char ch = i < n ? text.charAt(i) : '\n';
            if (quoted) {
                if (i == n) throw new UserError(origin + " line " + rowLine + ": a quoted field is not closed");
                if (ch == '"') {
                    if (i + 1 < n && text.charAt(i + 1) == '"') { field.append('"'); i++; }
                    else quoted = false;
                } else {
                    if (ch == '\n') line++;
                    field.append(ch);
                }
                i++;
                continue;
            }
            if (ch == '"') {
                if (!field.isEmpty() || wasQuoted)
                    throw new UserError(origin + " line " + line + ": a quote inside an unquoted field (quote the whole field, double inner quotes)");
                quoted = wasQuoted = true;
            } else if (ch == ',') {
                row.add(field.toString());
                field.setLength(0);
                wasQuoted = false;
            } else if (ch == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                // CRLF: the '\n' ends the row
            } else if (ch == '\n') {
                row.add(field.toString());
                field.setLength(0);
                wasQuoted = false;
                boolean blank = row.size() == 1 && row.get(0).isBlank();
                if (!blank) {
                    if (row.size() != 2)
                        throw new UserError(origin + " line " + rowLine + ": expected 2 fields (positive,negative), found " + row.size());
                    boolean header = pairs.isEmpty() && rowLine == 1 && row.get(0).strip().equalsIgnoreCase("positive")
                        && row.get(1).strip().equalsIgnoreCase("negative");
                    if (!header) pairs.add(new Pair(row.get(0), row.get(1)));
                }
                row.clear();
                line++;
                rowLine = line;
            } else if (wasQuoted) {
                throw new UserError(origin + " line " + line + ": text after a closing quote (expected ',' or a line break)");
            } else field.append(ch);
            i++;
        }
        return nonEmpty(pairs, origin);
    }

    // ---------------------------------------------------------------- templates

    public static PromptPairs parseTemplate(String text, String origin) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new UserError(origin + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject())
            throw new UserError(origin + ": expected a template set {\"template\", \"subjects\", \"concepts\", \"negative\"}");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of("template", "subjects", "concepts", "negative").contains(f))
                throw new UserError(origin + ": unknown field '" + f + "' (expected template, subjects, concepts, negative)");
        }
        String template = root.has("template") ? string(root, "template", origin) : "{subject}, {concept}";
        String negative = root.has("negative") ? string(root, "negative", origin) : "";
        return templated(template, strings(root, "subjects", origin), strings(root, "concepts", origin), negative, origin);
    }

    private static List<String> strings(JsonNode root, String field, String origin) {
        JsonNode a = root.get(field);
        if (a == null || !a.isArray() || a.isEmpty()) throw new UserError(origin + ": \"" + field + "\" must be a non-empty list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode s : a) {
            if (!s.isTextual()) throw new UserError(origin + ": \"" + field + "\" must hold strings only");
            out.add(s.asText());
        }
        return out;
    }

    /**
     * Every subject × every concept phrase: positive = the template with {@code {subject}} and {@code {concept}}
     * filled in, negative = the same subject with {@code negative} as the concept. An empty phrase drops the comma
     * or space it would have left ("a dog, " → "a dog").
     */
    public static PromptPairs templated(String template, List<String> subjects, List<String> concepts, String negative, String origin) {
        if (!template.contains("{subject}") || !template.contains("{concept}"))
            throw new UserError(origin + ": the template must contain {subject} and {concept}, got '" + template + "'");
        List<Pair> pairs = new ArrayList<>();
        for (String s : subjects)
            for (String c : concepts) pairs.add(new Pair(fill(template, s, c), fill(template, s, negative)));
        return nonEmpty(pairs, origin);
    }

    static String fill(String template, String subject, String concept) {
        String s = template.replace("{subject}", subject).replace("{concept}", concept);
        s = s.replaceAll("\\s+", " ").replaceAll("\\s*,\\s*(?=,|$)", "").replaceAll("^\\s*,\\s*", "");
        return s.strip();
    }

    /** The small set {@code stitch demo} runs: six subjects with and without a winter scene. */
    public static PromptPairs demo() {
        return templated("{subject}, {concept}", List.of("a house", "a dog in a garden", "a city street", "a mountain lake",
            "a red car", "a forest path"), List.of("in winter, covered in deep snow"), "", "demo set");
    }

    private static PromptPairs nonEmpty(List<Pair> pairs, String origin) {
        if (pairs.isEmpty()) throw new UserError(origin + ": no prompt pairs");
        return new PromptPairs(pairs);
    }

    // ---------------------------------------------------------------- identity and output

    /**
     * SHA-256 of the pairs' text (positive, NUL, negative, newline per pair, UTF-8): the same pairs give the same hash
     * whichever file format held them.
     */
    public String sha256() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Pair p : pairs) md.update((p.positive() + "\0" + p.negative() + "\n").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The pairs as JSON Lines, the format {@link #parseJsonl} reads. */
    public String toJsonl() {
        StringBuilder s = new StringBuilder();
        for (Pair p : pairs)
            s.append(JSON.createObjectNode().put("positive", p.positive()).put("negative", p.negative()).toString()).append('\n');
        return s.toString();
    }
}
