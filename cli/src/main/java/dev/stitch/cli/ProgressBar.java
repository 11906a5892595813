package dev.stitch.cli;

import dev.stitch.convert.Progress;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;

/** One-line progress bars on stderr, for denoising steps and for bytes written (only on a terminal; logs stay clean). */
final class ProgressBar {
    private ProgressBar() {}

    static StableDiffusionPipeline.Progress steps() {
        if (System.console() == null) return StableDiffusionPipeline.Progress.NONE;
        long start = System.nanoTime();
        return (i, n) -> {
            double secs = (System.nanoTime() - start) / 1e9;
            int width = 30, filled = (int) Math.round(width * (double) i / n);
            System.err.printf("\r  step %d/%d [%s%s] %.2f s/step%s", i, n, "=".repeat(filled), " ".repeat(width - filled),
                secs / i, i == n ? "\n" : "");
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
