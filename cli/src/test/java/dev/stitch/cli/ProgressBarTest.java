package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Progress off a terminal (logs, CI, tee): a line at a steady interval with the count and an ETA, then a summary. */
class ProgressBarTest {
    @Test
    void offATerminalStepsPrintALineEveryIntervalWithAnEta() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] now = {0};
        StableDiffusionPipeline.Progress p = ProgressBar.steps(new PrintStream(buf, true, StandardCharsets.UTF_8), false,
            () -> now[0], Duration.ofSeconds(10));
        for (int i = 0; i <= 50; i++) {
            p.step(i, 50);
            now[0] += 3_000_000_000L;   // 3 s per step
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals("stitch: step 4/50, 3.00 s/step · ETA 2:18", lines.getFirst());
        assertEquals(13, lines.size(), String.join("\n", lines));   // every 4th step (12 s), and the summary
        assertTrue(lines.subList(0, 12).stream().allMatch(l -> l.matches("stitch: step \\d+/50, 3\\.00 s/step · ETA \\d+:\\d\\d")), lines.toString());
        assertEquals("stitch: 50 UNet steps, 3.00 s/step", lines.getLast());
        assertFalse(buf.toString(StandardCharsets.UTF_8).contains("\r"), "no terminal redraws in a log");
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlace() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] now = {0};
        StableDiffusionPipeline.Progress p = ProgressBar.steps(new PrintStream(buf, true, StandardCharsets.UTF_8), true, () -> now[0], Duration.ofSeconds(10));
        for (int i = 0; i <= 4; i++) {
            p.step(i, 4);
            now[0] += 1_000_000_000L;
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        assertEquals(4, s.chars().filter(c -> c == '\r').count());
        assertTrue(s.contains("step 1/4 [") && s.contains("ETA 0:03") && s.endsWith("1.00 s/step\n"), s);
    }

    @Test
    void offATerminalAConversionPrintsALineEveryInterval() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long[] now = {0};
        var p = ProgressBar.bytes(new PrintStream(buf, true, StandardCharsets.UTF_8), false, () -> now[0], Duration.ofSeconds(10));
        long total = 100L << 20;
        for (long done = 0; done <= total; done += 1L << 20) {
            p.update("unet", done, total);
            now[0] += 1_000_000_000L;   // 1 MB a second
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(9, lines.size(), String.join("\n", lines));   // 10% to 90%; the command itself says when it is done
        assertEquals("stitch: 10%, 10.0 MB of 100.0 MB written (unet)", lines.getFirst());
    }
}
