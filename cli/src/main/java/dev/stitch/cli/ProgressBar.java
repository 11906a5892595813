package dev.stitch.cli;

import dev.stitch.convert.Progress;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;

/**
 * Progress on stderr: one-line bars for denoising steps and for bytes written on a terminal; off a terminal (logs,
 * pipes) only one summary line after the denoising, so that CPU users see the time per step either way.
 */
final class ProgressBar {
    private ProgressBar() {}

    static StableDiffusionPipeline.Progress steps() {
        boolean terminal = System.console() != null;
        long[] start = {System.nanoTime()};
        return (i, n) -> {
            if (i == 0) {
                start[0] = System.nanoTime();
                return;
            }
            double perStep = (System.nanoTime() - start[0]) / 1e9 / i;
            if (terminal) {
                int width = 30, filled = (int) Math.round(width * (double) i / n);
                System.err.printf("\r  step %d/%d [%s%s] %.2f s/step%s", i, n, "=".repeat(filled), " ".repeat(width - filled),
                    perStep, i == n ? "\n" : "");
            } else if (i == n) System.err.printf("stitch: %d denoising step%s, %.2f s/step%n", n, n == 1 ? "" : "s", perStep);
        };
    }

    /** Bytes written by a conversion, redrawn at most five times a second. */
    static Progress bytes() {
        if (System.console() == null) return Progress.NONE;
        long[] lastDraw = {0};
        boolean[] finished = {false};
        return (what, done, total) -> {
            long now = System.nanoTime();
            boolean end = done >= total;
            if (finished[0] || (!end && now - lastDraw[0] < 200_000_000L)) return;
            lastDraw[0] = now;
            int width = 30, filled = total == 0 ? width : (int) (width * done / total);
            System.err.printf("\r  [%s%s] %3d%%  %s / %s  %-45s%s", "=".repeat(filled), " ".repeat(width - filled),
                total == 0 ? 100 : 100 * done / total, size(done), size(total), what, end ? "\n" : "");
            finished[0] = end;
        };
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GB", bytes / (double) (1L << 30));
        return String.format("%.1f MB", bytes / (double) (1L << 20));
    }
}
