package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

/**
 * What a model calls at the output of every module: {@code x = taps.at(name, layout, x)}. The returned tensor is
 * what the model continues with, so editors can change it. {@link #NONE} returns its input and costs nothing.
 */
@FunctionalInterface
public interface Taps {
    Tensor at(String name, TapLayout layout, Tensor value);

    Taps NONE = (name, layout, value) -> value;
}
