package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

/**
 * What a model calls at the output of every module: {@code x = taps.at(name, layout, x, call)}. The returned tensor
 * is what the model continues with, so editors can change it. {@code call} says which model call this is: the
 * denoising step and what each batch row is ({@code call.step()}, {@code call.half(row)}). {@link #NONE} returns its
 * input and costs nothing.
 */
@FunctionalInterface
public interface Taps {
    Tensor at(String name, TapLayout layout, Tensor value, ModelCall call);

    Taps NONE = (name, layout, value, call) -> value;
}
