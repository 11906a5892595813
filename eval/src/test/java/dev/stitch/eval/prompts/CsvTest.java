package dev.stitch.eval.prompts;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CsvTest {
    private static List<List<String>> fields(String text) {
        return Csv.parse("t.csv", text).stream().map(Csv.Record::fields).toList();
    }

    @Test
    void quotedFieldsKeepCommasQuotesAndLineBreaks() {
        String text = "a,b,c\r\n\"x, y\",\"she said \"\"hi\"\"\",\"two\r\nlines\nand \"\"more\"\"\"\r\nplain,,\"\"\r\n";
        assertEquals(List.of(
            List.of("a", "b", "c"),
            List.of("x, y", "she said \"hi\"", "two\r\nlines\nand \"more\""),
            List.of("plain", "", "")), fields(text));
    }

    @Test
    void lineNumbersCountLineBreaksInsideQuotedFields() {
        List<Csv.Record> r = Csv.parse("t.csv", "h1,h2\n\"a\nb\nc\",1\nd,2\n");
        assertEquals(List.of(1, 2, 5), r.stream().map(Csv.Record::line).toList());
    }

    @Test
    void lfCrAndMissingFinalNewlineAndBlankLines() {
        assertEquals(List.of(List.of("a", "b"), List.of("1", "2"), List.of("3", "4")), fields("a,b\n1,2\r3,4"));
        assertEquals(List.of(List.of("a"), List.of("b")), fields("a\n\n\r\nb\n\n"));
        assertEquals(List.of(), fields(""));
    }

    @Test
    void trailingCommaGivesAnEmptyLastField() {
        assertEquals(List.of(List.of("a", "")), fields("a,\n"));
        assertEquals(List.of(List.of("", "")), fields(",\n"));
    }

    @Test
    void utf8WithEmojiAndBom(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("e.csv");
        Files.writeString(f, "\uFEFFprompt,seed\r\n\"a \uD83E\uDEA6 grave, \u2764\uFE0F\u200D\uD83D\uDD25\",7\r\n");
        Csv.Table t = Csv.readTable(f);
        assertEquals(List.of("prompt", "seed"), t.header());
        assertEquals("a \uD83E\uDEA6 grave, \u2764\uFE0F\u200D\uD83D\uDD25", t.get(t.records().getFirst(), "prompt"));
        assertEquals(7, t.getLong(t.records().getFirst(), "seed"));
    }

    @Test
    void malformedInputNamesFileAndLine() {
        assertError("t.csv:3: quoted field is never closed", "a,b\n1,2\n\"open,3\n4,5\n");
        assertError("t.csv:2: unexpected 'x' after a closing quote", "a,b\n\"q\"x,2\n");
        assertError("t.csv:2: quote inside an unquoted field", "a,b\nab\"c,2\n");
        UserError e = assertThrows(UserError.class, () -> Csv.table("t.csv", "a,b\n1,2\n\"x\ny\",2,3\n"));
        assertEquals("t.csv:3: 3 fields, the header has 2", e.getMessage());
        Csv.Table t = Csv.table("t.csv", "a,seed\nx,12z\n");
        e = assertThrows(UserError.class, () -> t.getLong(t.records().getFirst(), "seed"));
        assertEquals("t.csv:2: column 'seed': expected an integer, got '12z'", e.getMessage());
        e = assertThrows(UserError.class, () -> t.column("prompt"));
        assertTrue(e.getMessage().contains("no column 'prompt'"), e.getMessage());
    }

    @Test
    void invalidUtf8IsAUserError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.csv");
        Files.write(f, new byte[] {'a', ',', 'b', '\n', (byte) 0xC3, (byte) 0x28, '\n'});
        UserError e = assertThrows(UserError.class, () -> Csv.readTable(f));
        assertEquals(f + ": not valid UTF-8 text", e.getMessage());
        assertThrows(UserError.class, () -> Csv.readTable(dir.resolve("missing.csv")));
    }

    private static void assertError(String prefix, String text) {
        UserError e = assertThrows(UserError.class, () -> Csv.parse("t.csv", text));
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }
}
