package dev.stitch.convert;

import dev.stitch.engine.io.InputFiles;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The YAML subset that LDM model configs ({@code v2-inference.yaml} and friends) are written in: nested block
 * mappings by indentation, {@code - item} block sequences, scalars (numbers, booleans, null, plain or quoted strings),
 * flow sequences {@code [ 4, 2, 1 ]} of scalars, and {@code #} comments. Enough to read the few keys a conversion
 * needs; anchors, multi-line strings and flow mappings are not used by those files.
 */
public final class SimpleYaml {
    private record Line(int number, int indent, String text) {}

    private final Path file;
    /** LDM configs nest about six levels. */
    static final int MAX_DEPTH = 100;

    private final List<Line> lines = new ArrayList<>();
    private int at;
    private int depth;

    private SimpleYaml(Path file, String text) {
        this.file = file;
        String[] raw = text.split("\r?\n", -1);
        for (int i = 0; i < raw.length; i++) {
            String s = stripComment(raw[i]);
            if (s.isBlank() || s.strip().equals("---")) continue;
            int indent = 0;
            while (indent < s.length() && s.charAt(indent) == ' ') indent++;
            if (indent < s.length() && s.charAt(indent) == '\t') throw err(i + 1, "tab used for indentation");
            lines.add(new Line(i + 1, indent, s.strip()));
        }
    }

    public static Map<String, Object> read(Path file) {
        try {
            return parse(file, Files.readString(InputFiles.regular(file), StandardCharsets.UTF_8));
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new UserError(file + ": not valid UTF-8 (expected a YAML text file)");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Parses YAML text; {@code file} names it in errors. The root must be a mapping. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parse(Path file, String text) {
        SimpleYaml y = new SimpleYaml(file, text);
        if (y.lines.isEmpty()) return new LinkedHashMap<>();
        Object root = y.block(y.lines.getFirst().indent());
        if (y.at < y.lines.size()) throw y.err(y.lines.get(y.at).number(), "unexpected indentation");
        if (!(root instanceof Map)) throw new UserError(file + ": the top level is not a mapping");
        return (Map<String, Object>) root;
    }

    /** The value at a dotted path such as {@code model.params.unet_config.params.num_head_channels}, or null. */
    public static Object get(Map<String, Object> root, String path) {
        Object cur = root;
        for (String k : path.split("\\.")) {
            if (!(cur instanceof Map<?, ?> m)) return null;
            cur = m.get(k);
        }
        return cur;
    }

    private Object block(int indent) {
        Line first = lines.get(at);
        // each level is a Java call: a hostile file nesting thousands deep must not overflow the stack
        if (++depth > MAX_DEPTH) throw err(first.number(), "nested more than " + MAX_DEPTH + " levels deep");
        try {
            return first.text().startsWith("- ") || first.text().equals("-") ? sequence(indent) : mapping(indent);
        } finally {
            depth--;
        }
    }

    private Map<String, Object> mapping(int indent) {
        Map<String, Object> m = new LinkedHashMap<>();
        while (at < lines.size() && lines.get(at).indent() == indent) {
            Line l = lines.get(at);
            int colon = keyColon(l.text());
            if (colon < 0) throw err(l.number(), "expected 'key: value'");
            String key = unquote(l.text().substring(0, colon).strip());
            String rest = l.text().substring(colon + 1).strip();
            at++;
            Object value;
            if (!rest.isEmpty()) value = scalarOrFlow(l.number(), rest);
            else if (at < lines.size() && lines.get(at).indent() > indent) value = block(lines.get(at).indent());
            else if (at < lines.size() && lines.get(at).indent() == indent && lines.get(at).text().startsWith("-"))
                value = sequence(indent);                   // "key:\n- a\n- b" at the same indentation
            else value = null;
            if (m.containsKey(key)) throw err(l.number(), "duplicate key '" + key + "'");
            m.put(key, value);
        }
        return m;
    }

    private List<Object> sequence(int indent) {
        List<Object> out = new ArrayList<>();
        while (at < lines.size() && lines.get(at).indent() == indent && lines.get(at).text().startsWith("-")) {
            Line l = lines.get(at);
            String rest = l.text().substring(1).strip();
            at++;
            if (rest.isEmpty()) out.add(at < lines.size() && lines.get(at).indent() > indent ? block(lines.get(at).indent()) : null);
            else if (keyColon(rest) >= 0) {
                // "- key: value" starts a mapping whose further keys sit under the text after "- "
                int inner = indent + (l.text().length() - rest.length());
                lines.set(--at, new Line(l.number(), inner, rest));
                out.add(mapping(inner));
            } else out.add(scalarOrFlow(l.number(), rest));
        }
        return out;
    }

    private Object scalarOrFlow(int line, String s) {
        if (s.startsWith("[")) {
            if (!s.endsWith("]")) throw err(line, "flow sequence not closed on its line");
            String body = s.substring(1, s.length() - 1).strip();
            List<Object> items = new ArrayList<>();
            if (!body.isEmpty()) for (String p : body.split(",")) items.add(scalar(p.strip()));
            return items;
        }
        if (s.startsWith("{")) {
            if (s.replace(" ", "").equals("{}")) return new LinkedHashMap<String, Object>();
            throw err(line, "flow mappings are not supported");
        }
        if (s.startsWith("|") || s.startsWith(">")) throw err(line, "multi-line strings are not supported");
        return scalar(s);
    }

    static Object scalar(String s) {
        if (s.length() >= 2 && (s.charAt(0) == '"' || s.charAt(0) == '\'') && s.charAt(s.length() - 1) == s.charAt(0))
            return s.substring(1, s.length() - 1);
        switch (s) {
            case "null", "Null", "NULL", "~", "" -> { return null; }
            case "true", "True", "TRUE" -> { return Boolean.TRUE; }
            case "false", "False", "FALSE" -> { return Boolean.FALSE; }
            default -> { }
        }
        if (s.matches("[-+]?[0-9]+")) {
            try { return Long.parseLong(s); } catch (NumberFormatException e) { return s; }
        }
        if (s.matches("[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?")) return Double.parseDouble(s);
        return s;
    }

    /** Index of the ':' that ends a mapping key (followed by a space or the end), outside quotes; -1 if none. */
    private static int keyColon(String s) {
        char q = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (q != 0) { if (c == q) q = 0; continue; }
            if (c == '"' || c == '\'') q = c;
            else if (c == '[' || c == '{') return -1;
            else if (c == ':' && (i + 1 == s.length() || s.charAt(i + 1) == ' ')) return i;
        }
        return -1;
    }

    private static String stripComment(String s) {
        char q = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (q != 0) { if (c == q) q = 0; continue; }
            if (c == '"' || c == '\'') q = c;
            else if (c == '#' && (i == 0 || Character.isWhitespace(s.charAt(i - 1)))) return s.substring(0, i);
        }
        return s;
    }

    private static String unquote(String s) {
        return s.length() >= 2 && (s.charAt(0) == '"' || s.charAt(0) == '\'') && s.charAt(s.length() - 1) == s.charAt(0)
            ? s.substring(1, s.length() - 1) : s;
    }

    private UserError err(int line, String what) { return new UserError(file + ":" + line + ": " + what); }
}
