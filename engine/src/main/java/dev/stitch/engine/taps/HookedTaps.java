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
 * <p>Hooks learn where they are from the {@link ModelCall} each tap receives (the step, what each batch row is).
 * Registering is not thread-safe; hooks run on the thread that calls the model.
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

    /** Removes every registered hook (a session's close). */
    public void clear() {
        registrations.clear();
        sites.clear();
    }

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
    public Tensor at(String name, TapLayout layout, Tensor value, ModelCall call) { return run(name, layout, value, call, true); }

    /**
     * These taps with their editors only, observers skipped: for running a model call a second time (to find where
     * values went non-finite) without recording anything twice.
     */
    public Taps editorsOnly() { return (name, layout, value, call) -> run(name, layout, value, call, false); }

    private Tensor run(String name, TapLayout layout, Tensor value, ModelCall call, boolean observers) {
        if (registrations.isEmpty()) return value;
        Site site = sites.get(name);
        if (site == null) sites.put(name, site = resolve(name));
        if (site.hooks.length == 0) return value;
        TapContext ctx = new TapContext(site.component, layout, call.step(), call.timestep(), call.rows(name, value.dim(0)), ops);
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
}
