package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;

/**
 * Denoising progress on stderr: a one-line bar on a terminal; elsewhere (logs, pipes) one summary line at the end,
 * so that CPU users see the time per step either way.
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
}
