package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.eval.judge.JudgeClient;
import dev.stitch.eval.metrics.AnchorSimilarity;
import dev.stitch.eval.prompts.ConceptSet;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.prompts.PromptItem;
import dev.stitch.eval.prompts.PromptSet;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.SteeringPlan;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * An evaluation run: generates every prompt's images for the baseline and for each steered setup (same seeds),
 * scores them, appends one line per finished item to {@code scores.jsonl} (so a rerun resumes), and ends with
 * {@code summary.json} and {@code report.html}. An item is one image index of one prompt, with all its setups.
 * <p>
 * Everything is checked before anything is written: the settings, the prompt rows, the steering plans against the
 * model's taps, the CLIP folder, the Inception weights, the judge's key. Then the run folder is locked (one writer
 * at a time) and its run.json written or compared. The judge's failures are counted, printed and summarised; a
 * judge that fails {@link EvalSettings#judgeFailureLimit()} questions in a row stops the run, which resumes when
 * run again.
 */
public final class Evaluation {
    private final StableDiffusionPipeline pipe;
    private final Backend ops;
    private final EvalSettings settings;
    private final PrintStream log;
    private final Function<String, String> environment;

    /** What a run did. {@code judged} and {@code judgeFailed} count the questions of every finished item. */
    public record Result(Path runDir, int itemsDone, int itemCount, int judged, int judgeFailed) {}

    public Evaluation(StableDiffusionPipeline pipe, Backend ops, EvalSettings settings) {
        this(pipe, ops, settings, System.err, System::getenv);
    }

    /** @param log progress and notes; @param environment where the judge's key is looked up */
    public Evaluation(StableDiffusionPipeline pipe, Backend ops, EvalSettings settings, PrintStream log,
                      Function<String, String> environment) {
        this.pipe = pipe;
        this.ops = ops;
        this.settings = settings;
        this.log = log;
        this.environment = environment;
    }

    /** One unit of work: image {@code image} of prompt {@code prompt}, made under every setup. */
    private record Work(int prompt, PromptItem item, int image) {}

    /** A setup: the baseline (no plan) or one steering plan. */
    private record Setup(String label, String key, EvalSettings.Steered steered) {}

    /** Everything checked and loaded before the run folder is touched. */
    private record Prepared(List<Work> work, int prompts, List<Setup> setups, int width, int height, ImageScorer scorer,
                            String apiKey, EvalSummary.Inputs summary, ObjectNode request) {}

    /**
     * Runs (or resumes) the evaluation: everything is checked first, then the run folder is locked, its run.json written
     * or compared, the unfinished items done, and the summary and report written.
     */
    public Result run() {
        return run(ItemRunner.here(log, Duration.ofSeconds(5)));
    }

    /** As {@link #run()}, with the items made by {@code runner}: checks, lock and run folder, items, summary. */
    public Result run(ItemRunner runner) {
        Prepared p = prepare();
        Path dir = settings.shard().folder(settings.out());
        try (RunLock lock = RunLock.acquire(dir)) {
            RunFolder run = RunFolder.create(dir, p.request(), settings.shard(), p.work().size());
            log.println("stitch: " + p.prompts() + " prompts × " + settings.imagesPerPrompt() + " image(s) × " + p.setups().size()
                + " setup(s), " + ops.name() + " backend, into " + run.dir());
            runner.run(run, p.work().size(), () -> new Worker(p, run, "judge-audit.jsonl"));
            EvalSummary.Totals t = EvalSummary.write(run, p.summary());
            log.println("stitch: wrote " + run.dir().resolve(EvalSummary.SUMMARY) + " and " + run.dir().resolve(RunFolder.REPORT));
            return finish(run, t, settings.metrics().contains(Metric.JUDGE), log);
        }
    }

    /**
     * A worker for the run folder {@code runDir} that {@link #run(ItemRunner)} made with these settings, for a process
     * that makes some of its items (a cluster executor). Its judge answers go to {@code auditFile} in the run folder:
     * one file per process, since appends from several processes to one file could interleave.
     */
    public Worker worker(Path runDir, String auditFile) {
        return new Worker(prepare(), RunFolder.open(runDir), auditFile);
    }

    /** Makes items: their images (same item, same file names) and score lines. One per thread; closing it closes the judge. */
    public final class Worker implements ItemWorker {
        private final Prepared p;
        private final RunFolder run;
        private final HookedTaps taps;
        private final JudgeClient judge;
        private final String auditFile;
        private final int[] failuresInARow = {0};

        private Worker(Prepared p, RunFolder run, String auditFile) {
            this.p = p;
            this.run = run;
            this.auditFile = auditFile;
            this.taps = new HookedTaps(ops, pipe.tapCatalog(p.width(), p.height()));
            this.judge = settings.metrics().contains(Metric.JUDGE)
                ? new JudgeClient(settings.judge(), run.dir().resolve(auditFile), p.apiKey()) : null;
        }

        /** Item {@code i}'s line; throws, before the item is recorded, when the judge has failed too often in a row. */
        @Override
        public ObjectNode item(int i) {
            ObjectNode line = Evaluation.this.item(p, taps, i, p.work().get(i), run.images(), judge);
            if (judge != null) countFailures(line, failuresInARow, settings.judgeFailureLimit(), run.dir().resolve(auditFile));
            return line;
        }

        @Override
        public void close() {
            if (judge != null) judge.close();
        }
    }

    /** The checks that need the model or file contents, and the models the scores need; nothing is written. */
    private Prepared prepare() {
        EvalSettings s = settings;
        ConceptSet concepts = s.metrics().contains(Metric.ANCHOR) ? conceptSet(s.prompts()) : null;
        List<PromptItem> set = concepts != null ? concepts.items() : PromptSet.load(s.prompts());
        if (s.category() != null) set = PromptSet.inCategory(set, s.category());
        if (s.limit() != null) set = set.subList(0, Math.min(s.limit(), set.size()));
        if (set.isEmpty()) throw new SettingError("prompts", s.prompts(), "no prompts");
        if (s.promptSizes()) {
            if (set.stream().noneMatch(x -> x.width() != null))
                throw new SettingError("promptSizes", s.prompts(), "this prompt set gives no image sizes (columns sd_image_width and"
                    + " sd_image_height, or width and height)");
            for (int p = 0; p < set.size(); p++) {
                PromptItem x = set.get(p);
                if (x.width() != null && (x.width() % 8 != 0 || x.height() % 8 != 0))
                    throw new SettingError("promptSizes", s.prompts(), "prompt " + p + " asks for " + x.width() + "x" + x.height()
                        + ", expected multiples of 8");
            }
        }
        List<Work> work = new ArrayList<>();
        for (int p = 0; p < set.size(); p++)
            for (int j = 0; j < s.imagesPerPrompt(); j++) work.add(new Work(p, set.get(p), j));

        int width = s.generation().width() != null ? s.generation().width() : pipe.defaultSize();
        int height = s.generation().height() != null ? s.generation().height() : pipe.defaultSize();
        List<Setup> setups = new ArrayList<>();
        setups.add(new Setup("baseline", "baseline", null));
        TapCatalog catalog = s.steering().isEmpty() ? null : pipe.tapCatalog(width, height);
        for (int k = 0; k < s.steering().size(); k++) {
            EvalSettings.Steered st = s.steering().get(k);
            st.plan().check(catalog, "steering " + st.file());
            for (PromptItem item : set)   // a row's own guidance may turn the unconditional pass off
                st.plan().checkGuidance(s.guidance(item), "steering " + st.file());
            setups.add(new Setup(st.label(), "steer" + (k + 1), st));
        }
        if (pipe.source != null) EvalSettings.checkNotOver("out", s.out(), List.of(OutputPaths.input("model", pipe.source)));
        String apiKey = s.metrics().contains(Metric.JUDGE) ? JudgeClient.apiKey(s.judge(), environment) : null;
        EvalSummary.Inputs summary = s.scoring().summaryInputs(ops);
        ImageScorer scorer = s.scoring().scorer(ops, log);
        if (concepts != null) scorer = scorer.withAnchors(centroids(scorer.clip(), concepts, set));
        return new Prepared(work, set.size(), setups, width, height, scorer, apiKey, summary, request(width, height, setups, concepts));
    }

    private static ConceptSet conceptSet(Path prompts) {
        if (!ConceptSet.is(prompts))
            throw new SettingError("prompts", prompts, "metric anchor needs a concept set: a .csv or .jsonl file with prompt, concept and anchors");
        return ConceptSet.load(prompts);
    }

    /** Each concept's anchor centroid ({@link AnchorSimilarity}), for the concepts of the prompts kept. */
    private Map<String, float[]> centroids(dev.stitch.eval.clip.ClipModel clip, ConceptSet concepts, List<PromptItem> kept) {
        Ctx ctx = new Ctx(ops);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (PromptItem i : kept)
            out.computeIfAbsent(i.category(), c -> {
                List<RgbImage> images = concepts.anchors().get(c).stream().map(Png::read).toList();
                return AnchorSimilarity.centroid(clip.imageEmbeds(ctx, images));
            });
        return out;
    }


    /** One item: its image under every setup, scored; the judge's answers (or failures) included. */
    private ObjectNode item(Prepared p, HookedTaps taps, int i, Work w, Path images, JudgeClient judge) {
        EvalSettings s = settings;
        ObjectNode line = Jsonl.JSON.createObjectNode();
        line.put("prompt_index", w.prompt());
        line.put("image", w.image());
        line.put("prompt", w.item().prompt());
        if (w.item().category() != null) line.put("category", w.item().category());
        long seed = seed(w);
        float guidance = s.guidance(w.item());
        line.put("seed", seed);
        line.put("guidance", guidance);
        Integer width = s.generation().width(), height = s.generation().height();
        if (s.promptSizes()) {   // the prompt's own size, else the run's; said in the line, since sizes differ
            width = w.item().width() != null ? w.item().width() : p.width();
            height = w.item().height() != null ? w.item().height() : p.height();
            line.put("width", width).put("height", height);
        }
        GenerateRequest req = s.generation().request(pipe, w.item().prompt(), seed, guidance, width, height);
        ArrayNode results = line.putArray("setups");
        List<RgbImage> made = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (Setup setup : p.setups()) {
            GenerateResult res;
            SteeringPlan plan = setup.steered() == null ? null : setup.steered().plan();
            try (SteeringPlan.Registered reg = plan == null ? () -> {} : plan.register(taps)) {
                res = pipe.generate(req, ops, taps, StableDiffusionPipeline.Progress.NONE);
            }
            RgbImage img = new RgbImage(res.width(), res.height(), res.pixels()[0]);
            String name = String.format(Locale.ROOT, "%06d-%s.png", i, setup.key());
            var pngText = StableDiffusionPipeline.pngText(req, 0, res, pipe.source);
            if (plan != null) {
                EvalSettings.Steered st = setup.steered();
                String file = st.file().getFileName().toString();
                pngText.put("steering", plan.describe(st.name() == null ? file : st.name() + " (" + file + ")"));
            }
            Png.write(images.resolve(name), img, pngText);
            results.addObject().put("setup", setup.label()).put("file", RunFolder.IMAGES + "/" + name);
            made.add(img);
            files.add(images.resolve(name));
        }
        p.scorer().score(w.item().prompt(), w.item().category(), results, made, files, judge);
        return line;
    }

    /** Stops the run, before the item is recorded, when the judge has failed too many questions in a row. */
    static void countFailures(ObjectNode line, int[] failuresInARow, int limit, Path auditFile) {
        for (var r : line.get("setups")) {
            if (!r.has("judge_failure")) {
                failuresInARow[0] = 0;
                continue;
            }
            if (++failuresInARow[0] >= limit)
                throw new UserError("judge: " + failuresInARow[0] + " questions failed in a row (the last: " + r.get("judge_failure").asText()
                    + "); the run stopped, its finished items are kept: rerun the same command to resume once the judge answers"
                    + " (see " + auditFile + ")");
        }
    }

    /** What {@link #merge} did: the shards merged, and the summary's counts. */
    public record Merged(RunMerge.Result merge, EvalSummary.Totals totals) {}

    /**
     * Merges the shard folders {@code out/shard-k-of-n} into {@code out} ({@link RunMerge}) and writes its summary.json and
     * report.html. Unfinished items are reported, not refused, so a merge can also show progress.
     */
    public static Merged merge(Path out, EvalSummary.Inputs in) {
        RunMerge.Result r = RunMerge.merge(out, RunMerge.shardFolders(out));
        try (RunLock lock = RunLock.acquire(out)) {
            return new Merged(r, EvalSummary.write(RunFolder.open(out), in));
        }
    }

    static Result finish(RunFolder run, EvalSummary.Totals t, boolean judging, PrintStream log) {
        if (judging && t.judgeFailed() > 0)
            log.println("eval: judge: " + t.judgeFailed() + " of " + (t.judged() + t.judgeFailed()) + " questions failed "
                + t.failuresByKind() + "; see " + run.dir().resolve("judge-audit.jsonl"));
        if (judging && t.judged() == 0 && t.judgeFailed() > 0)
            throw new UserError("judge: every question failed (" + t.judgeFailed() + "); summary.json and report.html have no"
                + " judge scores (see " + run.dir().resolve("judge-audit.jsonl") + ")");
        return new Result(run.dir(), t.itemsDone(), run.itemCount(), t.judged(), t.judgeFailed());
    }

    /** The prompt set's seed plus the image index; without one, the settings' seed + the item's position. */
    private long seed(Work w) {
        if (w.item().seed() != null) return w.item().seed() + w.image();
        return settings.generation().seed() + (long) w.prompt() * settings.imagesPerPrompt() + w.image();
    }

    /** Everything that changes a score, for run.json (a resume must ask the same; the device may differ). */
    private ObjectNode request(int width, int height, List<Setup> setups, ConceptSet concepts) {
        EvalSettings s = settings;
        EvalSettings.Generation g = s.generation();
        ObjectNode o = Jsonl.JSON.createObjectNode();
        if (pipe.source != null) {
            Path name = pipe.source.toAbsolutePath().normalize().getFileName();
            o.put("model", name == null ? "" : name.toString());
            o.put("model_sha256", ModelFingerprint.sha256(pipe.source));
        }
        if (pipe.vaeSource != null) {   // --vae: another decoder draws other images
            Path name = pipe.vaeSource.toAbsolutePath().normalize().getFileName();
            o.put("vae", name == null ? "" : name.toString());
            o.put("vae_sha256", ModelFingerprint.sha256(pipe.vaeSource));
        }
        o.put("prompts", s.prompts().getFileName().toString());
        o.put("prompts_sha256", sha256(s.prompts()));
        if (s.category() != null) o.put("category", s.category());
        if (s.limit() != null) o.put("limit", s.limit());
        o.put("images_per_prompt", s.imagesPerPrompt());
        o.put("seed", g.seed());
        o.put("steps", g.steps());
        o.put("guidance", g.guidance());
        if (g.scheduler() != null) o.put("scheduler", g.scheduler().label);
        o.put("width", width);
        o.put("height", height);
        if (s.promptSizes()) o.put("prompt_sizes", true);   // absent: every image at width x height, as before the flag
        if (s.fixedGuidance()) o.put("fixed_guidance", true);   // absent: a prompt's own guidance wins, as before
        ArrayNode neg = o.putArray("negative_prompt");
        g.negativePrompts().forEach(neg::add);
        if (g.timestepSpacing() != null) o.put("timestep_spacing", g.timestepSpacing().label);
        if (g.prediction() != null) o.put("prediction", g.prediction().diffusers);
        o.put("tokenizer_mode", g.tokenizerMode().name().toLowerCase(Locale.ROOT));
        ArrayNode st = o.putArray("setups");
        for (Setup setup : setups) {
            ObjectNode n = st.addObject().put("label", setup.label()).put("key", setup.key());
            if (setup.steered() != null) {
                SteeringPlan plan = setup.steered().plan();
                n.put("steer_sha256", sha256(setup.steered().file()));
                n.put("strength", plan.strength());
                // the whole schedule: a resumed run with another operator, window, half or per-tap strength is refused
                n.put("operator", plan.operator().name().toLowerCase(Locale.ROOT));
                n.put("window", plan.window().toString());
                n.put("half", plan.half().name().toLowerCase(Locale.ROOT));
                n.put("preserve_norm", plan.preserveNorm());
                if (!plan.tokens().all()) n.put("tokens", plan.tokens().toString());   // absent: every position, as before token selection
                ObjectNode tapStrengths = n.putObject("tap_strengths");
                new java.util.TreeMap<>(plan.tapStrength()).forEach(tapStrengths::put);
                ArrayNode taps = n.putArray("taps");
                plan.file().taps().keySet().stream().sorted().forEach(taps::add);
            }
        }
        s.scoring().putInto(o);
        if (concepts != null) o.put("anchors_sha256", anchorsSha256(concepts));   // an edited anchor image changes every score
        return o;
    }

    /** The SHA-256 of each concept's name and its anchors' names and contents, in the set's order. */
    private static String anchorsSha256(ConceptSet concepts) {
        StringBuilder all = new StringBuilder();
        concepts.anchors().forEach((c, files) -> {
            all.append(c).append('\0');
            for (Path f : files) all.append(f.getFileName()).append('\0').append(sha256(f)).append('\n');
        });
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(all.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The SHA-256 of a file's bytes, in hex. */
    public static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
