package dev.stitch.eval.prompts;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JsonlTest {
    @Test
    void readsItemsSkippingBlankLines(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.jsonl");
        Files.writeString(f, """
            {"prompt": "a cat, \\"quoted\\"", "seed": 4290749014, "guidance": 7.5, "category": "animals"}

            {"prompt": "a \uD83D\uDC36 dog"}\r
            """);
        List<PromptItem> items = PromptSet.load(f);
        assertEquals(List.of(new PromptItem("a cat, \"quoted\"", 4290749014L, 7.5, "animals"),
            new PromptItem("a \uD83D\uDC36 dog", null, null, null)), items);
        assertEquals(items.getFirst(), PromptItem.fromJson(items.getFirst().toJson(), "round trip"));
    }

    @Test
    void badLinesNameFileAndLine(@TempDir Path dir) throws Exception {
        assertError(dir, "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"\n", ":2: not valid JSON");
        assertError(dir, "{\"prompt\": \"a\"} {\"prompt\": \"b\"}\n", ":1: not valid JSON");
        assertError(dir, "{\"promt\": \"a\"}\n", ":1: unknown key(s) [promt]");
        assertError(dir, "{\"prompt\": 3}\n", ":1: 'prompt' must be a string");
        assertError(dir, "{\"prompt\": \"a\", \"seed\": 1.5}\n", ":1: 'seed' must be a non-negative integer");
        assertError(dir, "{\"prompt\": \"a\", \"guidance\": \"7\"}\n", ":1: 'guidance' must be a number");
        assertError(dir, "[1, 2]\n", ":1: expected a JSON object");
        assertError(dir, "{\"prompt\": \"a\", \"prompt\": \"b\"}\n", ":1: not valid JSON");
    }

    private static void assertError(Path dir, String text, String part) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, text);
        UserError e = assertThrows(UserError.class, () -> PromptSet.load(f));
        assertTrue(e.getMessage().startsWith(f + part), e.getMessage());
    }
}
