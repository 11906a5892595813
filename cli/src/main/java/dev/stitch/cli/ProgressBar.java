package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;

/** A one-line progress bar on stderr for denoising steps (only on a terminal; logs stay clean). */
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
}
