package dev.stitch.kernels.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/** The worker threads the CPU backend spreads its loops over: one ForkJoin pool, work-stealing over index ranges. */
final class Parallel {
    final int threads;
    private final ForkJoinPool pool;

    Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    /** Runs {@code body(i)} for every i in [0, n) and returns when all are done. */
    void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        Range all = new Range(body, 0, n);
        if (ForkJoinTask.getPool() == pool) all.invoke(); // already on one of our workers: join in
        else pool.invoke(all);
    }

    /** Splits [lo, hi) in halves so that idle workers steal the larger pieces first. */
    private static final class Range extends RecursiveAction {
        private final IntConsumer body;
        private final int lo, hi;

        Range(IntConsumer body, int lo, int hi) { this.body = body; this.lo = lo; this.hi = hi; }

        @Override
        protected void compute() {
            if (hi - lo == 1) { body.accept(lo); return; }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Range(body, lo, mid), new Range(body, mid, hi));
        }
    }
}
