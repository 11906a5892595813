package dev.stitch.eval.judge;

import dev.stitch.eval.prompts.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AuditLogTest {
    @Test
    void aTornLastLineIsDroppedBeforeTheNextAppend(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("judge-audit.jsonl");
        Files.writeString(file, "{\"event\":\"request\",\"id\":\"a\"}\n{\"event\":\"resp");   // a kill or a full disk
        try (AuditLog log = new AuditLog(file, List.of())) {
            log.append("result", Jsonl.JSON.createObjectNode().put("id", "b"));
        }
        List<Jsonl.Line> lines = Jsonl.parse("audit", Files.readString(file));   // every line parses
        assertEquals(2, lines.size());
        assertEquals("b", lines.get(1).value().get("id").asText());
    }

    @Test
    void secretsAreRedactedInStringsAndTheLinesStayJson(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("judge-audit.jsonl");
        try (AuditLog log = new AuditLog(file, List.of("4", "s\"q"))) {
            log.append("response", Jsonl.JSON.createObjectNode().put("status", 404).put("raw", "key 4 and s\"q echoed"));
        }
        String text = Files.readString(file);
        var line = Jsonl.parse("audit", text).getFirst().value();
        assertEquals(404, line.get("status").asInt());
        assertEquals("key [redacted] and [redacted] echoed", line.get("raw").asText());
    }
}
