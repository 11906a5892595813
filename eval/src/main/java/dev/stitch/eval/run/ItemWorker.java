package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Makes the items of one run folder: each item's images (the same file names for the same item, so a retry rewrites
 * them) and its score line. One per thread; closing it releases what it holds (a judge client, say).
 */
public interface ItemWorker extends AutoCloseable {
    /** Item {@code i}'s line, without {@code "item"} ({@link EvalRunner#line} adds it). */
    ObjectNode item(int i);

    @Override
    default void close() {}
}
