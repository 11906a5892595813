package dev.stitch.cli;

import dev.stitch.convert.Progress;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress on stderr, in one of two modes from the same numbers: on a terminal, one-line bars redrawn in place; off a
 * terminal (batch jobs, CI, {@code tee}), a plain line at a steady interval ({@value #LOG_EVERY_SECONDS} s) with the
 * count and an ETA, and one summary line at the end, so a log shows that a long run is alive and when it will end.
 */
final class ProgressBar {
    static final int LOG_EVERY_SECONDS = 10;

    private ProgressBar() {}

    static StableDiffusionPipeline.Progress steps() {
        return steps(System.err, System.console() != null, System::nanoTime, Duration.ofSeconds(LOG_EVERY_SECONDS));
    }

    /** Denoising steps: a bar with s/step and ETA on a terminal, else a line every {@code every} and a summary line. */
    static StableDiffusionPipeline.Progress steps(PrintStream out, boolean terminal, LongSupplier nanos, Duration every) {
        long[] start = {0}, lastLine = {0};
        return (i, n) -> {
            long now = nanos.getAsLong();
            if (i == 0) {
                start[0] = lastLine[0] = now;
                return;
            }
            double perStep = (now - start[0]) / 1e9 / i;
            String eta = i < n ? String.format(Locale.ROOT, " · ETA %s", clock((n - i) * perStep)) : "";
            if (terminal) {
                int width = 30, filled = (int) Math.round(width * (double) i / n);
                out.printf(Locale.ROOT, "\r  step %d/%d [%s%s] %.2f s/step%s%s", i, n, "=".repeat(filled), " ".repeat(width - filled),
                    perStep, eta, i == n ? "\n" : "   ");
            } else if (i == n) out.printf(Locale.ROOT, "stitch: %d UNet step%s, %.2f s/step%n", n, n == 1 ? "" : "s", perStep);
            else if (now - lastLine[0] >= every.toNanos()) {
                lastLine[0] = now;
                out.printf(Locale.ROOT, "stitch: step %d/%d, %.2f s/step%s%n", i, n, perStep, eta);
            }
        };
    }

    static Progress bytes() {
        return bytes(System.err, System.console() != null, System::nanoTime, Duration.ofSeconds(LOG_EVERY_SECONDS));
    }

    /** Bytes written by a conversion: a bar redrawn at most five times a second on a terminal, else a line every {@code every}. */
    static Progress bytes(PrintStream out, boolean terminal, LongSupplier nanos, Duration every) {
        long[] lastDraw = {nanos.getAsLong()};
        boolean[] finished = {false};
        long gap = terminal ? 200_000_000L : every.toNanos();
        return (what, done, total) -> {
            long now = nanos.getAsLong();
            boolean end = done >= total;
            if (finished[0] || (!end && now - lastDraw[0] < gap)) return;
            lastDraw[0] = now;
            finished[0] = end;
            long percent = total == 0 ? 100 : 100 * done / total;
            if (terminal) {
                int width = 30, filled = total == 0 ? width : (int) (width * done / total);
                out.printf("\r  [%s%s] %3d%%  %s / %s  %-45s%s", "=".repeat(filled), " ".repeat(width - filled),
                    percent, size(done), size(total), what, end ? "\n" : "");
            } else if (!end) out.printf("stitch: %d%%, %s of %s written (%s)%n", percent, size(done), size(total), what);
        };
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GB", bytes / (double) (1L << 30));
        return String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
    }

    /** Seconds as m:ss or h:mm:ss. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
