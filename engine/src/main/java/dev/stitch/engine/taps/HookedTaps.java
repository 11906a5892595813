package dev.stitch.engine.taps;

import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Taps with hooks registered by name or glob. Hooks at a tap run in registration order, each editor's result
 * feeding the next hook. The hooks of a name are looked up once and cached, so a tap without hooks costs one map
 * lookup, and nothing at all while no hook is registered.
 *
 * <p>The pipeline tells hooks where they are: {@link #setRows} before each model call (what each batch row is),
 * {@link #setStep} before each UNet call of a denoising step and {@link #clearStep} after the loop. One forward at
 * a time: the state is not thread-safe, and hooks run on the thread that calls the model.
 *
 * <pre>{@code
 * try (var h = taps.register("unet.mid_block", (Observer) (tap, x, ctx) -> ...)) {
 *     pipeline.generate(...);
 * }   // the hook is gone here, even if generate threw
 * }</pre>
 */
public final class HookedTaps implements Taps {
    private final Backend ops;
    private final TapCatalog known;
    private final List<Registration> registrations = new ArrayList<>();
    private final Map<String, Site> sites = new HashMap<>();
    private int step = -1;
    private double timestep = Double.NaN;
    private TapContext.Rows rows;          // null: every row is COND, prompt = row

    /** The hooks registered at one tap name and the component it belongs to. */
    private record Site(String component, Hook[] hooks) {}

    private static final Hook[] NO_HOOKS = {};

    /** Hooks are not checked against a model's names (tests, models used directly). */
    public HookedTaps(Backend ops) { this(ops, null); }

    /** Every registered pattern must match a tap of {@code known}, else a {@code UserError} lists close names. */
    public HookedTaps(Backend ops, TapCatalog known) {
        this.ops = ops;
        this.known = known;
    }

    /** A registered hook; {@link #close} removes it (more than once is harmless). */
    public final class Registration implements AutoCloseable {
        private final TapPattern pattern;
        private final Hook hook;

        private Registration(TapPattern pattern, Hook hook) {
            this.pattern = pattern;
            this.hook = hook;
        }

        public TapPattern pattern() { return pattern; }

        @Override
        public void close() {
            if (registrations.remove(this)) sites.clear();
        }
    }

    /** Registers {@code hook} at every tap {@code pattern} matches ({@code GLOB[,GLOB]}, see {@link TapPattern}). */
    public Registration register(String pattern, Hook hook) { return register(TapPattern.of(pattern), hook); }

    public Registration register(TapPattern pattern, Hook hook) {
        if (known != null) known.resolve(pattern);
        Registration r = new Registration(pattern, hook);
        registrations.add(r);
        sites.clear();
        return r;
    }

    public boolean isEmpty() { return registrations.isEmpty(); }

    /** The denoising step about to run (0-based) and its scheduler timestep. */
    public void setStep(int step, double timestep) {
        if (step < 0) throw new IllegalArgumentException("step " + step + " < 0 (use clearStep outside denoising)");
        this.step = step;
        this.timestep = timestep;
    }

    /** Leaves denoising: later calls (the VAE) see step −1. */
    public void clearStep() {
        step = -1;
        timestep = Double.NaN;
    }

    /** What the rows of the next model calls are; null returns to the default (every row COND, prompt = row). */
    public void setRows(TapContext.Rows rows) { this.rows = rows; }

    public int step() { return step; }

    /**
     * Runs {@code forward} while every tap {@code pattern} matches is captured with {@code reduction} (all steps,
     * both halves), and returns the captured values: TransformerLens' {@code run_with_cache}.
     */
    public Cache runWithCache(String pattern, Reduction reduction, Runnable forward) {
        Cache cache = new Cache();
        try (var r = register(pattern, cache.capture(reduction))) {
            forward.run();
        }
        return cache;
    }

    @Override
    public Tensor at(String name, TapLayout layout, Tensor value) { return run(name, layout, value, true); }

    /**
     * These taps with their editors only, observers skipped: for running a model call a second time (to find where
     * values went non-finite) without recording anything twice.
     */
    public Taps editorsOnly() { return (name, layout, value) -> run(name, layout, value, false); }

    private Tensor run(String name, TapLayout layout, Tensor value, boolean observers) {
        if (registrations.isEmpty()) return value;
        Site site = sites.get(name);
        if (site == null) sites.put(name, site = resolve(name));
        if (site.hooks.length == 0) return value;
        TapContext ctx = new TapContext(site.component, layout, step, timestep, rowsFor(name, value), ops);
        int[] shape = value.shape();
        for (Hook h : site.hooks) {
            switch (h) {
                case Observer o -> { if (observers) o.observe(name, value, ctx); }
                case Editor e -> {
                    Tensor edited = e.edit(name, value, ctx);
                    if (edited == null || !Arrays.equals(edited.shape(), shape))
                        throw new IllegalStateException("editor at " + name + " returned "
                            + (edited == null ? "null" : Arrays.toString(edited.shape())) + " for a value of shape " + Arrays.toString(shape));
                    value = edited;
                }
            }
        }
        return value;
    }

    private Site resolve(String name) {
        List<Hook> hooks = new ArrayList<>();
        for (Registration r : registrations) if (r.pattern.matches(name)) hooks.add(r.hook);
        int dot = name.indexOf('.');
        return new Site(dot < 0 ? name : name.substring(0, dot), hooks.isEmpty() ? NO_HOOKS : hooks.toArray(Hook[]::new));
    }

    private TapContext.Rows rowsFor(String name, Tensor value) {
        int batch = value.dim(0);
        if (rows == null) return TapContext.Rows.cond(batch);
        if (rows.size() != batch)
            throw new IllegalStateException("tap " + name + " has a batch of " + batch + " rows but setRows described "
                + rows.size() + ": " + rows + " (the pipeline sets rows before each model call)");
        return rows;
    }
}
