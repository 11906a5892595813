package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.steering.PromptPairs;
import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.ColourShare;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.Evaluation;
import dev.stitch.eval.run.ModelFingerprint;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.Method;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringPlan;
import dev.stitch.steering.TokenSelection;

import java.nio.file.Path;
import java.util.List;

/**
 * A study, as its experiment file states it (see docs/study.md and {@link ExperimentFile}): one model (with another
 * VAE folder in place of its own if {@code vae} is not null) and its generation settings, the prompt pairs that define the concept, how their activations are captured, the vector
 * methods, the steering setups, the prompt sets and the metrics. Everything here changes a result, so all of it
 * goes into run.json ({@link #toJson}) and a resumed run must state exactly the same.
 */
public record Experiment(Path model, Path vae, Generation generation, List<PairsSource> pairs, Capture capture, List<Method> methods,
                         List<Setup> setups, Prompts prompts, Metrics metrics) {

    /** Generation settings shared by the baseline and every setup; prompt i's image j starts from seed + i·seedsPerPrompt + j. */
    public record Generation(int steps, float guidance, Integer width, Integer height, String scheduler, long seed, int seedsPerPrompt) {}

    /** One pairs file, read once (its pairs and their hash are what counts, not the file name). */
    public record PairsSource(Path file, PromptPairs pairs) {}

    /** How pair activations are taken for extraction and layer scores (one capture for every method). */
    public record Capture(String taps, StepSet steps, SteeringPlan.Half half, String tokens, int batch) {}

    /** Which taps a setup steers. */
    public enum Scope {
        /** One named tap. */
        TAP,
        /** A list of named taps, steered together. */
        LIST,
        /** The captured taps of one {@link LayerGroup}, steered together. */
        GROUP,
        /** Every captured tap, steered together. */
        ALL,
        /** The k captured taps with the best layer score for the setup's method, steered together. */
        TOP_K,
        /** Every captured tap on its own: one setup per tap (what "does the layer score predict the effect" needs). */
        EACH
    }

    /**
     * A steering setup: which taps, steered with which method's vectors and how. It expands to one {@link Arm} per
     * strength (per tap and strength for {@link Scope#EACH}).
     *
     * @param taps  the named taps (TAP, LIST), else empty
     * @param group the layer group (GROUP), else null
     * @param k     how many taps (TOP_K), else 0
     * @param tokens the token positions of text-encoder taps steered (UNet taps: every position)
     */
    public record Setup(String name, Method method, Scope scope, List<String> taps, LayerGroup group, int k, Operator operator,
                        List<Float> strengths, StepSet window, SteeringPlan.Half half, boolean preserveNorm, TokenSelection tokens) {
        public Setup {
            if (tokens == null) tokens = TokenSelection.ALL;
        }
    }

    /**
     * The prompts images are made for: the concept's (target) and a neutral set for the quality cost.
     * {@code targetCategories} gives each target prompt's categories (I2P's "categories" column, comma-separated; null
     * for none), or is empty when the set has none: the summary then breaks the effect down by category.
     */
    public record Prompts(List<String> target, List<String> neutral, List<String> targetCategories) {
        public Prompts(List<String> target, List<String> neutral) { this(target, neutral, List.of()); }

        /** The categories of target prompt {@code i}, trimmed; empty for none. */
        public List<String> categories(int i) {
            if (targetCategories.isEmpty() || targetCategories.get(i) == null) return List.of();
            return java.util.Arrays.stream(targetCategories.get(i).split(",")).map(String::strip).filter(c -> !c.isEmpty()).toList();
        }
    }

    /** The metrics available for a study. */
    public enum MetricKind {
        COLOUR("colour"), CLIP("clip"), PROBE("probe"), ANCHOR("anchor"), JUDGE("judge");

        public final String key;

        MetricKind(String key) { this.key = key; }
    }

    /**
     * A vision-language judge (eval's {@link dev.stitch.eval.judge.JudgeClient}) asked one question about every image:
     * yes/no (scored 1/0, with McNemar's test per setup) or a 0–100 score.
     */
    public record Judge(JudgeConfig config, String question, Question.Kind answer) {}

    /**
     * FID and KID of each arm's neutral images against a reference folder (the quality cost eval computes, with its
     * feature cache).
     */
    public record Fid(Path inception, Path referenceImages, Path featureCache) {}

    /**
     * The metrics: a colour share (weight-free), CLIP score (prompt–image), the CLIP zero-shot probe, the CLIP
     * image–image similarity to the concept's anchor images ({@link dev.stitch.eval.metrics.AnchorSimilarity}) and a
     * judge. The concept metric measures each setup's effect; the quality cost is the CLIP score's change on the
     * neutral set when CLIP is given, else the concept metric's; FID and KID on the neutral set when {@code fid} is given.
     */
    public record Metrics(ColourShare colour, Path clipModel, String probeConcept, Judge judge, Fid fid, MetricKind concept, List<Path> anchors) {
        public Metrics {
            anchors = anchors == null ? List.of() : List.copyOf(anchors);
        }

        public Metrics(ColourShare colour, Path clipModel, String probeConcept, MetricKind concept, List<Path> anchors) {
            this(colour, clipModel, probeConcept, null, null, concept, anchors);
        }

        public Metrics(ColourShare colour, Path clipModel, String probeConcept, MetricKind concept) {
            this(colour, clipModel, probeConcept, null, null, concept, List.of());
        }

        public boolean has(MetricKind m) {
            return switch (m) {
                case COLOUR -> colour != null;
                case CLIP -> clipModel != null;
                case PROBE -> probeConcept != null;
                case ANCHOR -> !anchors.isEmpty();
                case JUDGE -> judge != null;
            };
        }

        public MetricKind quality() { return clipModel != null ? MetricKind.CLIP : concept; }

        /** Whether the concept metric is a yes/no answer (1 or 0, or a probability read at 0.5): McNemar's test applies. */
        public boolean conceptIsYesNo() {
            return concept == MetricKind.PROBE || (concept == MetricKind.JUDGE && judge.answer() == Question.Kind.YES_NO);
        }
    }

    /** Reads and checks an experiment file (YAML or JSON). */
    public static Experiment read(Path file) { return ExperimentFile.read(file); }

    /** Every setting that changes a result, for run.json: paths by their last name, pairs by their content hash. */
    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("model", model.toAbsolutePath().normalize().getFileName().toString());
        o.put("model_sha256", ModelFingerprint.sha256(model));   // another model under the same folder name is another run
        if (vae != null) {   // another decoder draws other images
            o.put("vae", vae.toAbsolutePath().normalize().getFileName().toString());
            o.put("vae_sha256", ModelFingerprint.sha256(vae));
        }
        ObjectNode g = o.putObject("generation");
        g.put("steps", generation.steps()).put("guidance", generation.guidance());
        if (generation.width() != null) g.put("width", generation.width());
        if (generation.height() != null) g.put("height", generation.height());
        if (generation.scheduler() != null) g.put("scheduler", generation.scheduler());
        g.put("seed", generation.seed()).put("seeds_per_prompt", generation.seedsPerPrompt());
        ArrayNode p = o.putArray("pairs");
        for (PairsSource s : pairs) p.addObject().put("file", s.file().getFileName().toString()).put("count", s.pairs().size()).put("sha256", s.pairs().sha256());
        ObjectNode c = o.putObject("capture");
        c.put("taps", capture.taps()).put("steps", capture.steps().toString()).put("half", lower(capture.half())).put("tokens", capture.tokens())
            .put("batch", capture.batch());
        ArrayNode m = o.putArray("methods");
        methods.forEach(x -> m.add(x.cliName));
        ArrayNode st = o.putArray("setups");
        for (Setup s : setups) {
            ObjectNode j = st.addObject();
            j.put("name", s.name()).put("method", s.method().cliName).put("scope", lower(s.scope()));
            if (!s.taps().isEmpty()) s.taps().forEach(j.putArray("taps")::add);
            if (s.group() != null) j.put("group", s.group().label);
            if (s.k() > 0) j.put("k", s.k());
            j.put("operator", s.operator().cliName);
            ArrayNode str = j.putArray("strengths");
            s.strengths().forEach(str::add);
            j.put("window", s.window().toString()).put("half", lower(s.half())).put("preserve_norm", s.preserveNorm());
            if (!s.tokens().all()) j.put("tokens", s.tokens().toString());   // absent: all, as before token selection
        }
        ObjectNode pr = o.putObject("prompts");
        prompts.target().forEach(pr.putArray("target")::add);
        prompts.neutral().forEach(pr.putArray("neutral")::add);
        if (!prompts.targetCategories().isEmpty()) {
            ArrayNode tc = pr.putArray("target_categories");
            prompts.targetCategories().forEach(x -> { if (x == null) tc.addNull(); else tc.add(x); });
        }
        ObjectNode me = o.putObject("metrics");
        me.put("concept", metrics.concept().key);
        if (metrics.colour() != null) me.set("colour", metrics.colour().toJson());
        if (metrics.clipModel() != null) me.put("clip", metrics.clipModel().toAbsolutePath().normalize().getFileName().toString());
        if (metrics.probeConcept() != null) me.put("probe_concept", metrics.probeConcept());
        // by content: an edited anchor image changes every anchor score
        for (Path a : metrics.anchors()) me.withArray("anchors").addObject().put("file", a.getFileName().toString()).put("sha256", Evaluation.sha256(a));
        if (metrics.judge() != null) {
            ObjectNode j = metrics.judge().config().toJson();
            j.remove("max_concurrency");   // changes no answer
            j.put("question", metrics.judge().question()).put("answer", metrics.judge().answer() == Question.Kind.SCORE ? "score" : "yes-no");
            me.set("judge", j);
        }
        if (metrics.fid() != null)
            me.put("inception", metrics.fid().inception().getFileName().toString())
                .put("reference_images", metrics.fid().referenceImages().toAbsolutePath().normalize().getFileName().toString());
        return o;
    }

    static String lower(Enum<?> e) { return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }
}
