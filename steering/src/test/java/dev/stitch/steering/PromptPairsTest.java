package dev.stitch.steering;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PromptPairsTest {
    @TempDir Path dir;

    static PromptPairs.Pair pair(String p, String n) { return new PromptPairs.Pair(p, n); }

    @Test
    void jsonLines() throws IOException {
        Path f = dir.resolve("p.jsonl");
        Files.writeString(f, "{\"positive\": \"a cat, \\\"snowy\\\"\", \"negative\": \"a cat\"}\r\n\n  {\"negative\": \"\", \"positive\": \"é ü\"}\n");
        assertEquals(List.of(pair("a cat, \"snowy\"", "a cat"), pair("é ü", "")), PromptPairs.read(f).pairs());
    }

    @Test
    void csvFollowsRfc4180() throws IOException {
        Path f = dir.resolve("p.csv");
        Files.writeString(f, "positive,negative\r\n\"a dog, in snow\",a dog\r\n\"say \"\"hi\"\"\",\"two\nlines\"\nplain,\n");
        assertEquals(List.of(pair("a dog, in snow", "a dog"), pair("say \"hi\"", "two\nlines"), pair("plain", "")), PromptPairs.read(f).pairs());
        Files.writeString(f, "a,b");   // no header, no final line break
        assertEquals(List.of(pair("a", "b")), PromptPairs.read(f).pairs());
    }

    @Test
    void templatesCrossSubjectsWithConcepts() throws IOException {
        Path f = dir.resolve("t.json");
        Files.writeString(f, "{\"template\": \"a photo of {subject}, {concept}\", \"subjects\": [\"a cat\", \"a dog\"],"
            + " \"concepts\": [\"in snow\", \"at night\"]}");
        PromptPairs p = PromptPairs.read(f);
        assertEquals(List.of(pair("a photo of a cat, in snow", "a photo of a cat"), pair("a photo of a cat, at night", "a photo of a cat"),
            pair("a photo of a dog, in snow", "a photo of a dog"), pair("a photo of a dog, at night", "a photo of a dog")), p.pairs());
        assertEquals("art of a cat", PromptPairs.fill("{concept} art of {subject}", "a cat", ""));
        assertEquals(6, PromptPairs.demo().size());
    }

    @Test
    void hashDependsOnTheTextNotTheFormat() throws IOException {
        Path a = dir.resolve("a.jsonl"), b = dir.resolve("b.csv");
        Files.writeString(a, "{\"positive\": \"x, y\", \"negative\": \"z\"}\n");
        Files.writeString(b, "\"x, y\",z\n");
        assertEquals(PromptPairs.read(a).sha256(), PromptPairs.read(b).sha256());
        Files.writeString(b, "\"x, y\",z2\n");
        assertNotEquals(PromptPairs.read(a).sha256(), PromptPairs.read(b).sha256());
        Path back = dir.resolve("back.jsonl");
        Files.writeString(back, PromptPairs.read(a).toJsonl());
        assertEquals(PromptPairs.read(a), PromptPairs.read(back));
    }

    @Test
    void badInputIsOneClearLine() throws IOException {
        bad("x.jsonl", "{\"positive\": \"a\"}\n", "line 1: missing \"negative\"");
        bad("x.jsonl", "{\"positive\": \"a\", \"negative\": \"b\"}\n{\"postive\": \"a\", \"negative\": \"b\"}\n", "line 2: unknown field 'postive'");
        bad("x.jsonl", "{\"positive\": 1, \"negative\": \"b\"}\n", "\"positive\" must be a string");
        bad("x.jsonl", "[1, 2]\n", "line 1: expected an object");
        bad("x.jsonl", "{nope\n", "line 1: not valid JSON");
        bad("x.jsonl", "\n\n", "no prompt pairs");
        bad("x.csv", "a,b\nc,d,e\n", "line 2: expected 2 fields");
        bad("x.csv", "a,\"b\n", "line 1: a quoted field is not closed");
        bad("x.csv", "a,\"b\"c\n", "text after a closing quote");
        bad("x.csv", "a,b\"c\n", "a quote inside an unquoted field");
        bad("x.json", "{\"subjects\": [\"a\"], \"concepts\": []}", "\"concepts\" must be a non-empty list");
        bad("x.json", "{\"template\": \"{subject}\", \"subjects\": [\"a\"], \"concepts\": [\"b\"]}", "must contain {subject} and {concept}");
        bad("x.txt", "a,b\n", "unknown format");
        UserError e = assertThrows(UserError.class, () -> PromptPairs.read(dir.resolve("missing.jsonl")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    }

    private void bad(String name, String text, String expected) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        UserError e = assertThrows(UserError.class, () -> PromptPairs.read(f), text);
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(name), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
