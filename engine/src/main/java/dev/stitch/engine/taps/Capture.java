package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;

import java.util.EnumSet;
import java.util.Set;

/**
 * An observer that reduces a tap's value per CFG half and hands the result to a {@link Sink} (a {@link Cache} in
 * memory or a {@link TraceWriter} on disk), one tensor per (tap, step, half) holding that half's rows in batch
 * order. The reduction runs on the backend that holds the value; only its result is copied to the host. Settings
 * are immutable: each {@code with}-style method returns a new capture.
 *
 * <pre>{@code
 * Capture c = cache.capture(Reduction.MEAN).halves(CfgHalf.COND).steps(StepSet.range(10, 29)).meanOverSteps();
 * }</pre>
 */
public final class Capture implements Observer {
    /** Where captured tensors go. Each tensor given is fresh: the sink may keep it. */
    public interface Sink {
        void put(CaptureKey key, Tensor value);

        /** Adds one step's value to the running mean at {@code key}; sinks that stream refuse. */
        default void accumulate(CaptureKey key, Tensor value) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot average over steps");
        }
    }

    private final Sink sink;
    private final Reduction reduction;
    private final StepSet steps;
    private final Set<CfgHalf> halves;
    private final boolean meanOverSteps;

    public Capture(Sink sink, Reduction reduction) { this(sink, reduction, StepSet.ALL, EnumSet.allOf(CfgHalf.class), false); }

    private Capture(Sink sink, Reduction reduction, StepSet steps, Set<CfgHalf> halves, boolean meanOverSteps) {
        this.sink = sink;
        this.reduction = reduction;
        this.steps = steps;
        this.halves = halves;
        this.meanOverSteps = meanOverSteps;
    }

    /** Only these denoising steps (calls outside denoising are always captured). */
    public Capture steps(StepSet s) { return new Capture(sink, reduction, s, halves, meanOverSteps); }

    /** Only the rows of these halves (default both). */
    public Capture halves(CfgHalf... h) {
        if (h.length == 0) throw new IllegalArgumentException("no CFG half chosen");
        return new Capture(sink, reduction, steps, EnumSet.of(h[0], h), meanOverSteps);
    }

    /**
     * Averages each (tap, half) over the captured steps instead of keeping one tensor per step; the mean is
     * stored under step −1.
     */
    public Capture meanOverSteps() { return new Capture(sink, reduction, steps, halves, true); }

    @Override
    public void observe(String tap, Tensor value, TapContext ctx) {
        if (!steps.contains(ctx.step())) return;
        for (CfgHalf half : halves) {
            int[] rows = ctx.rowsOf(half);
            if (rows.length == 0) continue;
            // reduced where the value lives; the one copy is of the reduced rows, to the host where the sink keeps them
            Tensor reduced = reduction.reduce(tap, value, rows, ctx);
            Tensor r = reduced.isHost() ? reduced : Tensor.of(ctx.ops().toHost(reduced), reduced.shape());
            if (meanOverSteps && ctx.inDenoising()) sink.accumulate(new CaptureKey(tap, -1, half), r);
            else sink.put(new CaptureKey(tap, ctx.step(), half), r);
        }
    }
}
