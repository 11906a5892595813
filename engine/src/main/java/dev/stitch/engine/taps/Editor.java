package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

/**
 * Replaces a tap's value: the model continues with what {@link #edit} returns, which must have the value's shape.
 * The contract is functional: return {@code value} itself to leave it unchanged, or a new tensor (typically made
 * with {@code ctx.ops()}); never write into {@code value}, since the model or an earlier observer may still hold it.
 */
@FunctionalInterface
public non-sealed interface Editor extends Hook {
    Tensor edit(String tap, Tensor value, TapContext ctx);
}
