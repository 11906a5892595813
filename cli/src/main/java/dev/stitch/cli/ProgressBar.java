package dev.stitch.cli;

import dev.stitch.convert.Progress;

import java.io.PrintStream;

/** A one-line progress bar on stderr, redrawn at most a few times a second. */
final class ProgressBar implements Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private long lastDraw;
    private boolean finished;

    ProgressBar(PrintStream err) { this.err = err; }

    @Override
    public void update(String what, long done, long total) {
        long now = System.nanoTime();
        boolean end = done >= total;
        if (finished || (!end && now - lastDraw < 200_000_000L)) return;
        lastDraw = now;
        int fill = total == 0 ? WIDTH : (int) (WIDTH * done / total);
        err.printf("\r  [%s%s] %3d%%  %s / %s  %-45s", "#".repeat(fill), "-".repeat(WIDTH - fill),
            total == 0 ? 100 : 100 * done / total, size(done), size(total), what);
        if (end) {
            err.println();
            finished = true;
        }
        err.flush();
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GB", bytes / (double) (1L << 30));
        return String.format("%.1f MB", bytes / (double) (1L << 20));
    }
}
