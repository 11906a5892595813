package dev.stitch.eval.run;

import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.prompts.PromptItem;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.SteeringPlan;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything an {@link Evaluation} is asked to do, checked once by {@link Builder#build()}: a bad value is a
 * {@link SettingError} naming the parameter (the CLI maps it to its flag). What depends on the model or on file
 * contents (the prompt rows, the CLIP folder, the judge's key) is checked by {@link Evaluation#run()}, still before
 * anything is written.
 *
 * @param prompts           a prompt file: .csv (I2P, COCO-30k, ...), .jsonl or .txt
 * @param category          keep the prompts of this category (null: all)
 * @param limit             keep the first N prompts after the category (null: all)
 * @param imagesPerPrompt   images per prompt and setup
 * @param promptSizes       make each prompt at the image size its prompt set gives (I2P's sd_image_width/height), when it
 *                          gives one; the others at the generation's size
 * @param fixedGuidance     make every prompt at the generation's guidance, even where the prompt set gives one (I2P's
 *                          evaluation_guidance); false: a prompt's own guidance wins where it has one
 * @param generation        how each image is made
 * @param steering          the steered setups, each compared with the baseline (same seeds)
 * @param clip              a transformers CLIP folder (for {@link Metric#CLIP} and {@link Metric#PROBE})
 * @param probeConcept      the probe's concept: P("A picture of TEXT.") against "A picture of something."
 * @param inception         the FID Inception weights (for {@link Metric#FID} and {@link Metric#KID})
 * @param referenceImages   the reference image folder of FID and KID (only read)
 * @param featureCache      where the reference folder's features are cached (never inside an input)
 * @param judge             where and how to ask the judge (for {@link Metric#JUDGE})
 * @param judgeQuestion     the question (default "Does this image show TEXT?" with the probe concept)
 * @param judgeAnswer       what the judge answers: yes/no, or a score from 0 to 100
 * @param judgeFailureLimit judge questions failing in a row that stop the run (it resumes when rerun)
 * @param out               the run folder (a shard writes {@code out/shard-k-of-n})
 * @param inlineImages      embed the images in report.html so it can travel alone
 */
public record EvalSettings(Path prompts, String category, Integer limit, int imagesPerPrompt, boolean promptSizes,
                           boolean fixedGuidance, Generation generation,
                           List<Steered> steering, Set<Metric> metrics, Path clip, String probeConcept, Path inception,
                           Path referenceImages, Path featureCache, JudgeConfig judge, String judgeQuestion,
                           Question.Kind judgeAnswer, int judgeFailureLimit, Path out, Shard shard, boolean inlineImages) {
    public static final int DEFAULT_JUDGE_FAILURE_LIMIT = 10;

    public EvalSettings {
        steering = List.copyOf(steering);
        metrics = Set.copyOf(metrics);
        generation = generation == null ? Generation.defaults() : generation;
        shard = shard == null ? Shard.ALL : shard;
        if (judgeAnswer == null) judgeAnswer = Question.Kind.YES_NO;
    }

    /** The guidance {@code item} is made at: its own where it has one and the guidance is not fixed, else the run's. */
    public float guidance(PromptItem item) {
        return !fixedGuidance && item.guidance() != null ? item.guidance().floatValue() : generation.guidance();
    }

    /** How the images are scored. */
    public ScoreSettings scoring() {
        return new ScoreSettings(metrics, clip, probeConcept, inception, referenceImages, featureCache, judge, judgeQuestion, judgeAnswer,
            judgeFailureLimit, inlineImages);
    }

    /**
     * How each image is generated. The seed is the prompt set's when it has one, else {@code seed} + the item's
     * position; the guidance the prompt set's when it has one, else {@code guidance}. Null fields take the model's
     * defaults.
     */
    public record Generation(long seed, int steps, float guidance, SchedulerKind scheduler, Integer width, Integer height,
                             List<String> negativePrompts, TimestepSpacing timestepSpacing, Prediction prediction,
                             ClipTokenizer.Mode tokenizerMode) {
        public Generation {
            negativePrompts = negativePrompts == null ? List.of() : List.copyOf(negativePrompts);
            if (tokenizerMode == null) tokenizerMode = ClipTokenizer.Mode.ORIGINAL;
        }

        /** 50 steps, guidance 7.5, seed 0, everything else the model's. */
        public static Generation defaults() {
            return new Generation(0, 50, 7.5f, null, null, null, List.of(), null, null, null);
        }

        public Generation withSteps(int n) {
            return new Generation(seed, n, guidance, scheduler, width, height, negativePrompts, timestepSpacing, prediction, tokenizerMode);
        }

        public Generation withSize(Integer w, Integer h) {
            return new Generation(seed, steps, guidance, scheduler, w, h, negativePrompts, timestepSpacing, prediction, tokenizerMode);
        }

        public Generation withSeed(long s) {
            return new Generation(s, steps, guidance, scheduler, width, height, negativePrompts, timestepSpacing, prediction, tokenizerMode);
        }

        /** The request for one prompt at this seed and guidance (the one place an evaluation builds a request). */
        public GenerateRequest request(StableDiffusionPipeline pipe, String prompt, long seed, float guidance) {
            return request(pipe, prompt, seed, guidance, width, height);
        }

        /** As {@link #request(StableDiffusionPipeline, String, long, float)}, at another image size (null: the model's). */
        public GenerateRequest request(StableDiffusionPipeline pipe, String prompt, long seed, float guidance, Integer w, Integer h) {
            return pipe.request(prompt).negativePrompts(negativePrompts).steps(steps).guidance(guidance).seed(seed).scheduler(scheduler)
                .size(w, h).timestepSpacing(timestepSpacing).prediction(prediction).tokenizerMode(tokenizerMode).build();
        }
    }

    /**
     * One steered setup: its name (null: none given), the steering file (for its hash and label) and the plan made from
     * it, with the setup's own schedule.
     */
    public record Steered(String name, Path file, SteeringPlan plan) {
        public Steered(Path file, SteeringPlan plan) { this(null, file, plan); }

        /** The name, else "file.safetensors@-4.0": how the setup is named in scores, summary and report. */
        public String label() { return name != null ? name : file.getFileName() + "@" + plan.strength(); }
    }

    public static Builder builder(Path prompts, Path out) { return new Builder(prompts, out); }

    /** The judge's question: the one given, else one about the probe concept. */
    public String question() { return scoring().question(); }

    /** The default feature cache: {@code $XDG_CACHE_HOME/stitch/features}, else {@code ~/.cache/stitch/features}. */
    public static Path defaultFeatureCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("stitch").resolve("features");
    }

    /** Fills in {@link EvalSettings} with defaults; {@link #build()} checks it. */
    public static final class Builder {
        private final Path prompts, out;
        private String category, probeConcept, judgeQuestion;
        private Question.Kind judgeAnswer = Question.Kind.YES_NO;
        private Integer limit;
        private int imagesPerPrompt = 1, judgeFailureLimit = DEFAULT_JUDGE_FAILURE_LIMIT;
        private boolean promptSizes, fixedGuidance;
        private Generation generation = Generation.defaults();
        private final List<Steered> steering = new ArrayList<>();
        private final Set<Metric> metrics = EnumSet.noneOf(Metric.class);
        private Path clip, inception, referenceImages, featureCache;
        private JudgeConfig judge;
        private Shard shard = Shard.ALL;
        private boolean inlineImages;

        private Builder(Path prompts, Path out) {
            this.prompts = prompts;
            this.out = out;
        }

        public Builder category(String c) { category = c; return this; }
        public Builder limit(Integer n) { limit = n; return this; }
        public Builder imagesPerPrompt(int n) { imagesPerPrompt = n; return this; }
        public Builder promptSizes(boolean b) { promptSizes = b; return this; }
        public Builder fixedGuidance(boolean b) { fixedGuidance = b; return this; }
        public Builder generation(Generation g) { generation = g; return this; }
        public Builder steer(Path file, SteeringPlan plan) { steering.add(new Steered(file, plan)); return this; }
        /** A named setup (a {@link SetupSpec}'s plan): several may steer with one file on different schedules. */
        public Builder steer(String name, Path file, SteeringPlan plan) { steering.add(new Steered(name, file, plan)); return this; }
        public Builder metrics(Metric... ms) { metrics.addAll(List.of(ms)); return this; }
        public Builder metrics(Set<Metric> ms) { metrics.addAll(ms); return this; }
        public Builder clip(Path dir) { clip = dir; return this; }
        public Builder probeConcept(String text) { probeConcept = text; return this; }
        public Builder inception(Path file) { inception = file; return this; }
        public Builder referenceImages(Path dir) { referenceImages = dir; return this; }
        public Builder featureCache(Path dir) { featureCache = dir; return this; }
        public Builder judge(JudgeConfig c) { judge = c; return this; }
        public Builder judgeQuestion(String q) { judgeQuestion = q; return this; }
        public Builder judgeAnswer(Question.Kind k) { judgeAnswer = k; return this; }
        public Builder judgeFailureLimit(int n) { judgeFailureLimit = n; return this; }
        public Builder shard(Shard s) { shard = s; return this; }
        public Builder inlineImages(boolean b) { inlineImages = b; return this; }

        /** The settings, after every check that needs no model: one {@link SettingError} for the first problem. */
        public EvalSettings build() {
            EvalSettings s = new EvalSettings(prompts, category, limit, imagesPerPrompt, promptSizes, fixedGuidance, generation, steering, metrics, clip,
                probeConcept, inception, referenceImages, featureCache == null ? defaultFeatureCache() : featureCache, judge,
                judgeQuestion, judgeAnswer, judgeFailureLimit, out, shard, inlineImages);
            s.check();
            return s;
        }
    }

    private void check() {
        if (prompts == null) throw new SettingError("prompts", null, "a prompt file is needed");
        if (out == null) throw new SettingError("out", null, "a run folder is needed");
        if (imagesPerPrompt < 1) throw new SettingError("imagesPerPrompt", imagesPerPrompt, "must be at least 1");
        if (limit != null && limit < 1) throw new SettingError("limit", limit, "must be at least 1");
        if (generation.steps() < 1) throw new SettingError("steps", generation.steps(), "must be at least 1");
        if (!(generation.guidance() >= 0) || Float.isInfinite(generation.guidance()))
            throw new SettingError("guidance", generation.guidance(), "must be a number >= 0");
        for (Integer side : new Integer[] {generation.width(), generation.height()})
            if (side != null && (side <= 0 || side % 8 != 0))
                throw new SettingError(side.equals(generation.width()) ? "width" : "height", side, "must be a positive multiple of 8");
        scoring().check();
        requireFile("prompts", prompts);
        Map<String, Steered> labels = new LinkedHashMap<>();
        for (Steered st : steering) {
            requireFile("steering", st.file());
            String parameter = st.name() != null ? "setup" : "steering";
            if (st.label().equals("baseline")) throw new SettingError(parameter, st.label(), "'baseline' names the unsteered images");
            if (labels.put(st.label(), st) != null) throw new SettingError(parameter, st.label(), "given twice (name the setups apart)");
        }
        checkOutputs();
    }

    /** The run folder and the feature cache must not be, contain, or lie inside an input ({@link OutputPaths}). */
    private void checkOutputs() {
        List<OutputPaths.Input> inputs = new ArrayList<>();
        inputs.add(OutputPaths.input("prompts", prompts));
        inputs.addAll(scoring().inputs());
        for (Steered st : steering) inputs.add(OutputPaths.input("steering", st.file()));
        checkNotOver("out", out, inputs);
        if (metrics.stream().anyMatch(Metric::usesInception)) checkNotOver("featureCache", featureCache, inputs);
    }

    /** {@link OutputPaths#check}, its refusal as a {@link SettingError} on {@code parameter}. */
    static void checkNotOver(String parameter, Path output, List<OutputPaths.Input> inputs) {
        try {
            OutputPaths.check(parameter, output, inputs);
        } catch (SettingError e) {
            throw e;
        } catch (UserError e) {
            String prefix = parameter + " " + output + ": ";
            throw new SettingError(parameter, output, e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage());
        }
    }

    private static void requireFile(String parameter, Path p) {
        if (!Files.isRegularFile(p)) throw new SettingError(parameter, p, "no such file");
    }
}
