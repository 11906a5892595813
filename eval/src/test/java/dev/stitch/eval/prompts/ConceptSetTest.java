package dev.stitch.eval.prompts;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Concept sets (prompt, concept, anchors) in CSV and JSON Lines: anchors per concept, relative paths, one-line errors. */
class ConceptSetTest {
    private static Path png(Path dir, String name) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Png.write(f, new RgbImage(4, 4, new byte[48]), Map.of());
        return f;
    }

    @Test
    void csvGathersEachConceptsAnchorsRelativeToTheFile(@TempDir Path dir) throws IOException {
        Path a = png(dir, "anchors/gogh1.png"), b = png(dir, "anchors/gogh2.png"), c = png(dir, "anchors/mouse.png");
        Path f = dir.resolve("concepts.csv");
        Files.writeString(f, """
            prompt,concept,anchors,seed
            "a starry night, oil",van gogh,anchors/gogh1.png | anchors/gogh2.png,5
            a wheat field,van gogh,,6
            a cartoon mouse,mouse,anchors/mouse.png|anchors/mouse.png,7
            """);
        ConceptSet s = ConceptSet.load(f);
        assertEquals(3, s.items().size());
        assertEquals(new PromptItem("a starry night, oil", 5L, null, "van gogh"), s.items().get(0));
        assertEquals("van gogh", s.items().get(1).category());
        assertEquals(List.of("van gogh", "mouse"), List.copyOf(s.anchors().keySet()));
        assertEquals(List.of(a.toAbsolutePath(), b.toAbsolutePath()), s.anchors().get("van gogh"));
        assertEquals(List.of(c.toAbsolutePath()), s.anchors().get("mouse"), "an image listed twice counts once");
        assertEquals(s.items(), PromptSet.load(f), "any prompt reader takes a concept set, the concept as its category");
        assertTrue(ConceptSet.is(f));
    }

    @Test
    void jsonlIsTheSameSet(@TempDir Path dir) throws IOException {
        png(dir, "g.png");
        Path f = dir.resolve("concepts.jsonl");
        Files.writeString(f, """
            {"prompt": "a starry night", "concept": "van gogh", "anchors": ["g.png"], "guidance": 5}
            {"prompt": "a wheat field", "concept": "van gogh"}
            """);
        ConceptSet s = ConceptSet.load(f);
        assertEquals(new PromptItem("a starry night", null, 5.0, "van gogh"), s.items().get(0));
        assertEquals(List.of(dir.resolve("g.png").toAbsolutePath()), s.anchors().get("van gogh"));
        assertEquals(s.items(), PromptSet.load(f));
    }

    @Test
    void errorsNameTheFileLineAndColumn(@TempDir Path dir) throws IOException {
        png(dir, "g.png");
        Path f = dir.resolve("c.csv");
        Files.writeString(f, "prompt,concept,anchors\na,x,g.png\nb,x,missing.png\n");
        assertEquals(f + ":3: column 'anchors': no such image missing.png (paths are relative to the folder of c.csv)",
            assertThrows(UserError.class, () -> ConceptSet.load(f)).getMessage());
        Files.writeString(f, "prompt,concept,anchors\na,x,g.png\nb, ,g.png\n");
        assertEquals(f + ":3: column 'concept' is empty, expected the concept's name", assertThrows(UserError.class, () -> ConceptSet.load(f)).getMessage());
        Files.writeString(f, "prompt,concept,anchors\na,x,g.png\nb,y,\n");
        assertEquals(f + ":3: concept 'y' has no anchor image in any row", assertThrows(UserError.class, () -> ConceptSet.load(f)).getMessage());
        Files.writeString(f, "prompt,concept\na,x\n");
        assertTrue(assertThrows(UserError.class, () -> ConceptSet.load(f)).getMessage().startsWith(f + ": no column 'anchors'"));
        Files.writeString(f, "prompt,anchors\na,g.png\n");
        assertFalse(ConceptSet.is(f));

        Path j = dir.resolve("c.jsonl");
        Files.writeString(j, "{\"prompt\": \"a\", \"concept\": \"x\", \"anchors\": [\"g.png\"]}\n{\"prompt\": \"b\", \"concept\": \"x\", \"anchor\": [\"g.png\"]}\n");
        assertEquals(j + ":2: unknown key 'anchor' (expected prompt, concept, anchors, seed, guidance)",
            assertThrows(UserError.class, () -> PromptSet.load(j)).getMessage());
        Files.writeString(j, "{\"prompt\": \"a\", \"concept\": \"x\", \"anchors\": \"g.png\"}\n");
        assertEquals(j + ":1: 'anchors' must be a list of image paths, got \"g.png\"", assertThrows(UserError.class, () -> ConceptSet.load(j)).getMessage());
        Files.writeString(j, "{\"prompt\": \"a\", \"anchors\": [\"g.png\"]}\n{\"prompt\": \"b\", \"concept\": \"x\", \"anchors\": [\"g.png\"]}\n");
        assertEquals(j + ":1: 'concept' must be a string", assertThrows(UserError.class, () -> PromptSet.load(j)).getMessage());
    }
}
