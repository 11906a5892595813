package dev.stitch.eval.prompts;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An RFC 4180 CSV reader: comma-separated fields, fields in double quotes may hold commas, line breaks and quotes
 * (doubled: {@code ""}); records end with CRLF, LF or CR. The file must be UTF-8 (a leading byte-order mark is
 * skipped). Empty lines between records are skipped. Anything else (a quote inside an unquoted field, text after a
 * closing quote, an unterminated quoted field, a record whose field count differs from the header's) is a
 * {@link UserError} naming the file and the line.
 */
public final class Csv {
    private Csv() {}

    /** One record: the physical line it starts on (1-based) and its fields. */
    public record Record(int line, List<String> fields) {}

    /** A file with a header: column names and the data records, each with as many fields as the header. */
    public record Table(String source, List<String> header, List<Record> records) {
        private Map<String, Integer> index() {
            Map<String, Integer> m = new LinkedHashMap<>();
            for (int i = 0; i < header.size(); i++) m.putIfAbsent(header.get(i), i);
            return m;
        }

        public boolean has(String column) { return header.contains(column); }

        /** The position of {@code column}, or a UserError listing the columns the file has. */
        public int column(String column) {
            Integer i = index().get(column);
            if (i == null)
                throw new UserError(source + ": no column '" + column + "' (the header has " + header + ")");
            return i;
        }

        public int size() { return records.size(); }

        /** The text of {@code column} in {@code r}. */
        public String get(Record r, String column) { return r.fields().get(column(column)); }

        public long getLong(Record r, String column) {
            String v = get(r, column).strip();
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw bad(r, column, "an integer", v);
            }
        }

        public int getInt(Record r, String column) {
            long v = getLong(r, column);
            if (v != (int) v) throw bad(r, column, "a 32-bit integer", Long.toString(v));
            return (int) v;
        }

        public double getDouble(Record r, String column) {
            String v = get(r, column).strip();
            try {
                double d = Double.parseDouble(v);
                if (Double.isFinite(d)) return d;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw bad(r, column, "a finite number", v);
        }

        private UserError bad(Record r, String column, String expected, String got) {
            return new UserError(source + ":" + r.line() + ": column '" + column + "': expected " + expected
                + ", got '" + got + "'");
        }
    }

    /** Reads {@code file} as a table whose first record is the header. */
    public static Table readTable(Path file) { return table(file.toString(), readText(file)); }

    /** Reads {@code file} as records (no header handling). */
    public static List<Record> read(Path file) { return parse(file.toString(), readText(file)); }

    /** {@link #readTable} for text already in memory; {@code source} names it in messages. */
    public static Table table(String source, String text) {
        List<Record> all = parse(source, text);
        if (all.isEmpty()) throw new UserError(source + ": empty file, expected a CSV header line");
        List<String> header = all.getFirst().fields();
        List<Record> rows = all.subList(1, all.size());
        for (Record r : rows)
            if (r.fields().size() != header.size())
                throw new UserError(source + ":" + r.line() + ": " + r.fields().size() + " fields, the header has "
                    + header.size());
        return new Table(source, header, List.copyOf(rows));
    }

    static String readText(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            String s = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes)).toString();
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new UserError(file + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Splits {@code text} into records. */
    public static List<Record> parse(String source, String text) {
        List<Record> out = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int n = text.length(), i = 0, line = 1, recordLine = 1;
        boolean recordHasContent = false;
        while (i <= n) {
            // At the start of a field.
            if (i < n && text.charAt(i) == '"') {
                int quoteLine = line;
                i++;
                while (true) {
                    if (i >= n) throw new UserError(source + ":" + quoteLine + ": quoted field is never closed");
                    char c = text.charAt(i);
                    if (c == '"') {
                        if (i + 1 < n && text.charAt(i + 1) == '"') {
                            field.append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (c == '\n' || (c == '\r' && (i + 1 >= n || text.charAt(i + 1) != '\n'))) line++;
                    field.append(c);
                    i++;
                }
                if (i < n && !isSeparator(text.charAt(i)))
                    throw new UserError(source + ":" + line + ": unexpected '" + text.charAt(i)
                        + "' after a closing quote (a quote inside a quoted field must be doubled)");
                recordHasContent = true;
            } else {
                while (i < n && !isSeparator(text.charAt(i))) {
                    char c = text.charAt(i);
                    if (c == '"')
                        throw new UserError(source + ":" + line + ": quote inside an unquoted field (quote the whole field and double the quote)");
                    field.append(c);
                    i++;
                }
                if (field.length() > 0) recordHasContent = true;
            }
            fields.add(field.toString());
            field.setLength(0);
            if (i < n && text.charAt(i) == ',') {
                recordHasContent = true;
                i++;
                continue;
            }
            // End of record: CRLF, LF, CR or end of text.
            if (recordHasContent) out.add(new Record(recordLine, Collections.unmodifiableList(new ArrayList<>(fields))));
            fields.clear();
            recordHasContent = false;
            if (i >= n) break;
            if (text.charAt(i) == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') i++;
            i++;
            line++;
            recordLine = line;
            if (i == n) break;
        }
        return out;
    }

    private static boolean isSeparator(char c) { return c == ',' || c == '\n' || c == '\r'; }
}
