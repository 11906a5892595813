package dev.stitch.engine.pipeline;

import dev.stitch.kernels.ParameterError;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerConfig;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.kernels.Tensor;

import java.util.List;
import java.util.Objects;

/**
 * What one {@code generate} call asks for, every setting resolved: made by a {@link Builder} from a model
 * ({@code sd.request("a cat").steps(20).build()}), which fills what the caller left out from that model and checks
 * the result against it. Errors name the builder's parameters ({@code steps}, {@code width}, …).
 */
public final class GenerateRequest {
    private final Builder given;        // what the caller set, for toBuilder
    private final List<String> prompts, negativePrompts;
    private final int steps, width, height;
    private final float guidance, strength;
    private final long seed;
    private final SchedulerKind scheduler;
    private final TimestepSpacing timestepSpacing;
    private final Prediction prediction;
    private final ClipTokenizer.Mode tokenizerMode;
    private final Tensor initLatents, initImage;

    private GenerateRequest(Builder b, SchedulerConfig model, int defaultSize) {
        given = b.copy();
        prompts = List.copyOf(b.prompts);
        negativePrompts = List.copyOf(b.negativePrompts);
        steps = b.steps;
        guidance = b.guidance;
        seed = b.seed;
        scheduler = b.scheduler != null ? b.scheduler : SchedulerKind.of(model);
        timestepSpacing = b.timestepSpacing != null ? b.timestepSpacing : model.timestepSpacing(scheduler.defaultSpacing);
        prediction = b.prediction != null ? b.prediction : model.prediction();
        width = b.width != null ? b.width : defaultSize;
        height = b.height != null ? b.height : defaultSize;
        tokenizerMode = b.tokenizerMode;
        initLatents = b.initLatents;
        initImage = b.initImage;
        strength = b.strength;
    }

    public List<String> prompts() { return prompts; }

    /** None (the empty prompt for every row), one for all rows, or one per prompt. */
    public List<String> negativePrompts() { return negativePrompts; }

    public int steps() { return steps; }

    public float guidance() { return guidance; }

    public SchedulerKind scheduler() { return scheduler; }

    public long seed() { return seed; }

    public int width() { return width; }

    public int height() { return height; }

    public TimestepSpacing timestepSpacing() { return timestepSpacing; }

    public Prediction prediction() { return prediction; }

    public ClipTokenizer.Mode tokenizerMode() { return tokenizerMode; }

    /** Unit-variance noise [B, 4, h, w] used instead of the seeded noise (diffusers' {@code latents=}), or null. */
    public Tensor initLatents() { return initLatents; }

    /** img2img: the start image [B, 3, H, W] in [-1, 1], noised to {@link #strength}; null for text-to-image. */
    public Tensor initImage() { return initImage; }

    public float strength() { return strength; }

    public int batch() { return prompts.size(); }

    public String negative(int i) {
        return negativePrompts.isEmpty() ? "" : negativePrompts.get(negativePrompts.size() == 1 ? 0 : i);
    }

    /** Guidance ≤ 1 runs no unconditional pass, as diffusers does. */
    public boolean guided() { return guidance > 1; }

    /**
     * A builder holding what this request's caller set (not the model's defaults it was filled with), so a changed
     * scheduler gets its own default spacing again.
     */
    public Builder toBuilder() { return given.copy(); }

    @Override
    public String toString() {
        return "GenerateRequest" + prompts + " steps " + steps + ", guidance " + guidance + ", " + scheduler + " (" + timestepSpacing
            + ", " + prediction + "), seed " + seed + ", " + width + "x" + height;
    }

    /**
     * The settings of a request; what is not set comes from the model at {@link #build}: its scheduler (the class its
     * scheduler config names), that config's timestep spacing and prediction type, its native image size. The other
     * defaults are diffusers': 50 steps, guidance 7.5, no negative prompt; the seed defaults to 0 so that a run repeats.
     */
    public static final class Builder {
        private final StableDiffusionPipeline model;
        private List<String> prompts;
        private List<String> negativePrompts = List.of();
        private int steps = 50;
        private float guidance = 7.5f;
        private long seed;
        private SchedulerKind scheduler;
        private Integer width, height;
        private TimestepSpacing timestepSpacing;
        private Prediction prediction;
        private ClipTokenizer.Mode tokenizerMode = ClipTokenizer.Mode.ORIGINAL;
        private Tensor initLatents, initImage;
        private float strength = 0.8f;

        Builder(StableDiffusionPipeline model, List<String> prompts) {
            this.model = Objects.requireNonNull(model, "model");
            prompts(prompts);
        }

        private Builder copy() {
            Builder b = new Builder(model, prompts);
            b.negativePrompts = negativePrompts;
            b.steps = steps;
            b.guidance = guidance;
            b.seed = seed;
            b.scheduler = scheduler;
            b.width = width;
            b.height = height;
            b.timestepSpacing = timestepSpacing;
            b.prediction = prediction;
            b.tokenizerMode = tokenizerMode;
            b.initLatents = initLatents;
            b.initImage = initImage;
            b.strength = strength;
            return b;
        }

        /** One image per prompt. */
        public Builder prompts(List<String> prompts) {
            if (prompts == null || prompts.isEmpty()) throw new ParameterError("prompt", "at least one prompt is needed");
            if (prompts.stream().anyMatch(Objects::isNull)) throw new ParameterError("prompt", "a prompt is null");
            this.prompts = List.copyOf(prompts);
            return this;
        }

        /** The same negative prompt for every image. */
        public Builder negativePrompt(String negative) { return negativePrompts(List.of(negative)); }

        /** None, one for all prompts, or one per prompt. */
        public Builder negativePrompts(List<String> negatives) {
            if (negatives == null || negatives.stream().anyMatch(Objects::isNull)) throw new ParameterError("negativePrompt", "a negative prompt is null");
            this.negativePrompts = List.copyOf(negatives);
            return this;
        }

        public Builder steps(int steps) {
            this.steps = steps;
            return this;
        }

        /** Classifier-free guidance scale; ≤ 1 runs no unconditional pass. */
        public Builder guidance(float guidance) {
            this.guidance = guidance;
            return this;
        }

        /** The noise seed, as {@code torch.manual_seed} on the CPU. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Null: the model's. */
        public Builder scheduler(SchedulerKind scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** Null: the model's config's, else the scheduler's own default. */
        public Builder timestepSpacing(TimestepSpacing spacing) {
            this.timestepSpacing = spacing;
            return this;
        }

        /** Null: the model's config's. */
        public Builder prediction(Prediction prediction) {
            this.prediction = prediction;
            return this;
        }

        /** Image size in pixels; null: the model's native size. */
        public Builder size(Integer width, Integer height) {
            this.width = width;
            this.height = height;
            return this;
        }

        public Builder width(Integer width) {
            this.width = width;
            return this;
        }

        public Builder height(Integer height) {
            this.height = height;
            return this;
        }

        public Builder tokenizerMode(ClipTokenizer.Mode mode) {
            this.tokenizerMode = Objects.requireNonNull(mode, "tokenizerMode");
            return this;
        }

        /** Unit-variance start noise [B, 4, h, w] instead of the seeded noise; null: seeded. */
        public Builder initLatents(Tensor latents) {
            this.initLatents = latents;
            return this;
        }

        /** img2img: start from {@code image} [B, 3, H, W] in [-1, 1]; null: text-to-image. */
        public Builder initImage(Tensor image) {
            this.initImage = image;
            return this;
        }

        /** img2img: how much of the image is re-drawn, in (0, 1]. */
        public Builder strength(float strength) {
            this.strength = strength;
            return this;
        }

        /** The request, with the model's defaults filled in and everything checked against the model. */
        public GenerateRequest build() {
            if (negativePrompts.size() > 1 && negativePrompts.size() != prompts.size())
                throw new ParameterError("negativePrompt", "give one for all prompts or one per prompt (" + prompts.size()
                    + "), not " + negativePrompts.size());
            if (steps < 1) throw new ParameterError("steps", steps, "must be at least 1");
            if (!(guidance >= 0) || Float.isInfinite(guidance)) throw new ParameterError("guidance", guidance, "must be a number >= 0");
            if (width != null && (width <= 0 || width % 8 != 0)) throw new ParameterError("width", width, "must be a positive multiple of 8");
            if (height != null && (height <= 0 || height % 8 != 0)) throw new ParameterError("height", height, "must be a positive multiple of 8");
            if (initImage != null && !(strength > 0 && strength <= 1)) throw new ParameterError("strength", strength, "must be in (0, 1]");
            GenerateRequest r = new GenerateRequest(this, model.schedulerConfig, model.defaultSize());
            model.check(r);
            return r;
        }
    }
}
