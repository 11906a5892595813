package dev.stitch.engine;

import dev.stitch.engine.taps.ModelCall;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * What every forward pass needs: the backend that computes, the taps that observe or edit module outputs, and which
 * model call this is (step and rows), which every tap receives.
 */
public record Ctx(Backend ops, Taps taps, ModelCall call) {
    public Ctx(Backend ops) { this(ops, Taps.NONE); }

    /** A call nobody described ({@link ModelCall#NONE}): a model run on its own. */
    public Ctx(Backend ops, Taps taps) { this(ops, taps, ModelCall.NONE); }

    /** The same backend and taps for another model call. */
    public Ctx at(ModelCall call) { return new Ctx(ops, taps, call); }

    public Tensor tap(String name, TapLayout layout, Tensor value) { return taps.at(name, layout, value, call); }
}
