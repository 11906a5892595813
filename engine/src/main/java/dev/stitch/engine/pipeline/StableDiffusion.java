package dev.stitch.engine.pipeline;

import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.Hook;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;

import java.nio.file.Path;
import java.util.List;

/**
 * A model on a backend, with its hooks: the one object a notebook holds. Requests are built from it (the model's
 * defaults filled in), every run uses its backend and its hooks, and closing it removes every hook still registered.
 * TransformerLens' {@code run_with_cache} is {@link #runWithCache}; its {@code with model.hooks(...)} is a
 * {@code try} block on {@link #hooks}.
 *
 * <pre>{@code
 * try (var sd = StableDiffusion.load(dir, Backends.byName("cpu"))) {
 *     GenerateResult cat = sd.generate(sd.request("a cat").steps(20));
 *     var run = sd.runWithCache(sd.request("a cat").build(), "unet.mid_block", Reduction.MEAN);
 *     try (var h = sd.hooks("unet.*.attn2", (Editor) (tap, x, ctx) -> ctx.ops().scale(x, 0f))) {
 *         GenerateResult noCrossAttention = sd.generate(sd.request("a cat"));
 *     }
 * }
 * }</pre>
 *
 * One run at a time: hooks run on the calling thread.
 */
public final class StableDiffusion implements AutoCloseable {
    private final StableDiffusionPipeline model;
    private final Backend ops;
    private final HookedTaps taps;
    private boolean closed;

    /** {@code model} run on {@code ops}; hook patterns are checked against the model's taps. */
    public StableDiffusion(StableDiffusionPipeline model, Backend ops) {
        this.model = model;
        this.ops = ops;
        this.taps = new HookedTaps(ops, model.tapCatalog(model.defaultSize(), model.defaultSize()));
    }

    /** Loads a diffusers folder onto {@code ops} (see {@link Backends#byName}). */
    public static StableDiffusion load(Path dir, Backend ops) { return new StableDiffusion(StableDiffusionPipeline.load(dir), ops); }

    /**
     * Loads a diffusers folder with the VAE of {@code vaeDir} (a diffusers {@code vae} folder: AutoencoderKL or
     * AutoencoderTiny) in place of its own, onto {@code ops}.
     */
    public static StableDiffusion load(Path dir, Path vaeDir, Backend ops) {
        return new StableDiffusion(StableDiffusionPipeline.load(dir, vaeDir), ops);
    }

    /** Loads a diffusers folder onto the backend {@code auto} picks. */
    public static StableDiffusion load(Path dir) { return load(dir, Backends.byName("auto")); }

    /** The components, configs and tap catalog. */
    public StableDiffusionPipeline model() { return model; }

    public Backend backend() { return ops; }

    /** A request for {@code prompts} (one image each) with this model's defaults; see {@link GenerateRequest.Builder}. */
    public GenerateRequest.Builder request(String... prompts) { return model.request(prompts); }

    public GenerateRequest.Builder request(List<String> prompts) { return model.request(prompts); }

    public GenerateResult generate(GenerateRequest.Builder request) { return generate(request.build()); }

    public GenerateResult generate(GenerateRequest request) { return generate(request, StableDiffusionPipeline.Progress.NONE); }

    /** Runs {@code request} with the hooks registered now. */
    public GenerateResult generate(GenerateRequest request, StableDiffusionPipeline.Progress progress) {
        return model.generate(request, open(), taps, progress);
    }

    /**
     * Runs the text encoder and the denoising steps up to {@code lastStep} only (see
     * {@link StableDiffusionPipeline#denoiseUntil}): what reading activations at early steps needs.
     */
    public Tensor denoiseUntil(GenerateRequest request, int lastStep) {
        return model.denoiseUntil(request, open(), taps, StableDiffusionPipeline.Progress.NONE, lastStep);
    }

    /** What {@link #runWithCache} returns: the generation and the values captured during it. */
    public record CachedRun(GenerateResult result, Cache cache) {}

    /**
     * Runs {@code request} while every tap {@code pattern} selects is captured with {@code reduction}, all steps and
     * both CFG halves. Values are keyed (tap, step, half), step −1 for the text encoder and the VAE:
     * {@code run.cache().get("unet.mid_block", 12, CfgHalf.COND)} is {@code [prompts, C]}.
     */
    public CachedRun runWithCache(GenerateRequest request, String pattern, Reduction reduction) {
        Cache cache = new Cache();
        try (var h = hooks(pattern, cache.capture(reduction))) {
            return new CachedRun(generate(request), cache);
        }
    }

    /**
     * Registers {@code hook} (an {@code Observer} or an {@code Editor}) at every tap {@code pattern} selects, for
     * every run until the returned handle is closed; use it in a {@code try} block. A pattern that matches no tap of
     * the model is a {@code UserError} listing the closest names.
     */
    public HookedTaps.Registration hooks(String pattern, Hook hook) {
        open();
        return taps.register(pattern, hook);
    }

    /** The session's taps, for code that registers on {@link HookedTaps} (steering plans, trace writers). */
    public HookedTaps taps() {
        open();
        return taps;
    }

    /** Removes every hook still registered; the session cannot run afterwards. */
    @Override
    public void close() {
        closed = true;
        taps.clear();
    }

    private Backend open() {
        if (closed) throw new IllegalStateException("this StableDiffusion session is closed");
        return ops;
    }
}
