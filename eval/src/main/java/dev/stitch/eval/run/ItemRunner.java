package dev.stitch.eval.run;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Collections;
import java.util.function.Supplier;

/**
 * Where the items of a run are made. {@link #here} makes them in this process, one after another; a cluster engine
 * (the {@code stitch-spark} module) makes them on its executors, each with its own {@link ItemWorker} for the run
 * folder. Either way the runner appends each finished item's line to the run's scores.jsonl once, with
 * {@link EvalRunner#line}, and skips the items already there.
 */
@FunctionalInterface
public interface ItemRunner {
    /**
     * Makes the items of {@code run}'s shard not yet in its scores.jsonl.
     * @param itemCount the run's items (all shards)
     * @param here      makes a worker in this process, for a runner that makes items here (it closes the worker)
     */
    EvalRunner.Summary run(RunFolder run, int itemCount, Supplier<ItemWorker> here);

    /** In this process, one item after another, a progress line at most every {@code every}. */
    static ItemRunner here(PrintStream log, Duration every) {
        return (run, itemCount, here) -> {
            try (ItemWorker worker = here.get()) {
                return new EvalRunner(1, log, every).run(run, Collections.nCopies(itemCount, 0), (i, unused, images) -> worker.item(i));
            }
        };
    }
}
