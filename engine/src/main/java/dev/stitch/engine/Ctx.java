package dev.stitch.engine;

import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/** What every forward pass needs: the backend that computes and the taps that observe or edit module outputs. */
public record Ctx(Backend ops, Taps taps) {
    public Ctx(Backend ops) { this(ops, Taps.NONE); }

    public Tensor tap(String name, TapLayout layout, Tensor value) { return taps.at(name, layout, value); }
}
