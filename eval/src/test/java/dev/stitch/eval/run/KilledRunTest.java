package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** A run killed in the middle (a real child JVM, killed hard) resumes to exactly one score per item. */
class KilledRunTest {
    private static Process start(Path dir, int n, long delayMs, Path stderr) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", cp, SlowRunMain.class.getName(),
            dir.toString(), Integer.toString(n), Long.toString(delayMs))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(stderr.toFile())
            .start();
    }

    private static long completeLines(Path scores) throws Exception {
        if (!Files.exists(scores)) return 0;
        return Files.readString(scores).chars().filter(c -> c == '\n').count();
    }

    @Test
    void killedRunResumesWithExactlyOneScorePerItem(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        Path scores = dir.resolve(RunFolder.SCORES);
        int n = 30;
        Process p = start(dir, n, 150, tmp.resolve("first.err"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (completeLines(scores) < 4) {
            assertTrue(p.isAlive(), "the child ended early: " + Files.readString(tmp.resolve("first.err")));
            assertTrue(System.nanoTime() < deadline, "the child made no progress in 60 s");
            Thread.sleep(20);
        }
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        long before = completeLines(scores);
        assertTrue(before >= 4 && before < n, before + " lines before the kill");

        // what a kill in the middle of a write leaves: a line without its newline
        Files.writeString(scores, "{\"item\": 29, \"prompt\": \"prom", StandardOpenOption.APPEND);

        Process again = start(dir, n, 1, tmp.resolve("second.err"));
        assertTrue(again.waitFor(120, TimeUnit.SECONDS), "the resumed run did not finish");
        String err = Files.readString(tmp.resolve("second.err"));
        assertEquals(0, again.exitValue(), err);
        assertTrue(err.contains(before + " done earlier"), err);
        assertTrue(err.contains("eval: " + n + "/" + n + " done"), err);

        String text = Files.readString(scores, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n"));
        assertFalse(text.contains("\"prom\n"), "the cut line was dropped");
        ScoresFile.Contents c = ScoresFile.read(scores); // refuses duplicates and damaged lines
        assertEquals(0, c.partialBytes());
        assertEquals(n, text.lines().count());
        assertEquals(n, c.lines().size());
        Set<Long> pids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            ObjectNode line = c.lines().get(i);
            assertNotNull(line, "item " + i);
            assertEquals("prompt " + i, line.get("prompt").asText());
            assertEquals((long) i * i, line.get("value").asLong());
            pids.add(line.get("pid").asLong());
            assertEquals("prompt " + i, Files.readString(dir.resolve("images").resolve(String.format("%06d.png", i))));
        }
        assertEquals(2, pids.size(), "both processes contributed");
        try (var s = Files.list(dir.resolve("images"))) {
            List<String> names = s.map(f -> f.getFileName().toString()).toList();
            assertEquals(n, names.stream().filter(f -> f.endsWith(".png") && !f.startsWith(".")).count());
        }
        assertTrue(new File(dir.toFile(), RunFolder.RUN_JSON).isFile());
    }
}
