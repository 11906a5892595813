package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

/**
 * Reads a tap's value (capture, pool, stream to disk). The value belongs to the model and may be a buffer the
 * backend reuses later: an observer that keeps numbers beyond the call copies them (reductions do).
 */
@FunctionalInterface
public non-sealed interface Observer extends Hook {
    void observe(String tap, Tensor value, TapContext ctx);
}
