package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.steering.PromptPairs;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.metrics.AnchorSimilarity;
import dev.stitch.eval.judge.JudgeClient;
import dev.stitch.eval.judge.Judgement;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.ClipScore;
import dev.stitch.eval.metrics.Estimate;
import dev.stitch.eval.metrics.FeatureCache;
import dev.stitch.eval.metrics.FeatureStats;
import dev.stitch.eval.metrics.FrechetDistance;
import dev.stitch.eval.metrics.KernelInceptionDistance;
import dev.stitch.eval.run.EvalSummary;
import dev.stitch.eval.metrics.ZeroShotProbe;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.EvalRunner;
import dev.stitch.eval.run.ItemRunner;
import dev.stitch.eval.run.ItemWorker;
import dev.stitch.eval.run.RunFolder;
import dev.stitch.eval.run.RunLock;
import dev.stitch.eval.run.RunMerge;
import dev.stitch.eval.run.ScoresFile;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.Extraction;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.Method;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a study ({@link Experiment}) into a run folder:
 * <pre>
 * DIR/run.json                     the resolved experiment (a resumed run must state exactly the same)
 * DIR/vectors/METHOD.safetensors   each method's vectors for every captured tap, with its layer scores
 * DIR/images/                      ITEM-baseline.png, ITEM-s000.png, ... (s000: the first arm)
 * DIR/scores.jsonl                 one line per finished item (prompt and seed): every arm's metrics
 * DIR/summary.json, report.html    see {@link StudySummary}
 * </pre>
 * The pairs' activations are captured once; each method's vectors and layer scores come from that capture and are
 * kept, so a resumed run goes straight back to generating. An item is one image index of one prompt, made under the
 * baseline and every arm from the same seed. Like {@code eval}, a killed run resumes where it stopped with each item
 * done once, and a run may be split into shards ({@code shard-k-of-n} folders, each capturing the pairs itself) that
 * {@link #merge} joins.
 */
public final class Study {
    public static final String VECTORS = "vectors", JUDGE_AUDIT = "judge-audit.jsonl";

    /** One unit of work: image {@code image} of prompt {@code index} of a prompt set ("target" or "neutral"). */
    record Item(String set, int index, String prompt, int image, long seed) {}

    /** Each method's vectors and layer scores over the captured taps (in model order). */
    record Vectors(List<String> taps, Map<Method, SteeringFile> files, Map<Method, Map<String, LayerScore>> scores) {}

    /** What a run did: its folder, the progress summary, and the summary and report (null for one shard of several). */
    public record Result(RunFolder run, EvalRunner.Summary progress, Path summary, Path report) {}

    private final Experiment e;
    private final Backend ops;
    private final PrintStream log;

    public Study(Experiment e, Backend ops, PrintStream log) {
        this.e = e;
        this.ops = ops;
        this.log = log;
    }

    /** Runs (or resumes) the study into {@code out}, or into its shard's folder inside {@code out}. */
    public Result run(Path out, Shard shard) {
        return run(out, shard, ItemRunner.here(log, Duration.ofSeconds(10)));
    }

    /** As {@link #run(Path, Shard)}, with the items made by {@code runner} (in this process, or on a cluster). */
    public Result run(Path out, Shard shard, ItemRunner runner) {
        if (e.metrics().judge() != null) JudgeClient.apiKey(e.metrics().judge().config(), System::getenv);   // a missing key stops here, before anything is written
        try (RunLock lock = RunLock.acquire(shard.folder(out))) {
            List<Item> items = items();
            RunFolder run = RunFolder.create(shard.folder(out), e.toJson(), shard, items.size());
            Worker w = new Worker(run, JUDGE_AUDIT);
            log.println("study: " + items.size() + " items (" + e.prompts().target().size() + " target + " + e.prompts().neutral().size()
                + " neutral prompts × " + e.generation().seedsPerPrompt() + " seeds), each " + (w.arms.size() + 1) + " images (baseline + "
                + w.arms.size() + " arms), " + ops.name() + " backend, into " + run.dir());
            EvalRunner.Summary progress = runner.run(run, items.size(), () -> w);   // w also saved the vectors executors read
            if (!shard.equals(Shard.ALL)) return new Result(run, progress, null, null);
            List<ObjectNode> lines = new ArrayList<>(ScoresFile.read(run.scoresFile()).lines().values());
            StudySummary s = StudySummary.of(e, w.arms, w.vectors.scores(), lines, fid(lines, w.arms, run.dir()));
            return new Result(run, progress, s.writeJson(run.dir()), s.writeReport(run.dir()));
        }
    }

    /**
     * A worker for the run folder {@code runDir} that {@link #run(Path, Shard, ItemRunner)} made from this experiment,
     * for a process that makes some of its items (a cluster executor): it reads the vectors the run saved.
     */
    public ItemWorker worker(Path runDir) { return worker(runDir, JUDGE_AUDIT); }

    /** As {@link #worker(Path)}, its judge's answers logged to {@code auditFile} in the run folder (one per process). */
    public ItemWorker worker(Path runDir, String auditFile) {
        return new Worker(RunFolder.open(runDir), auditFile);
    }

    /** Makes the study's items: the baseline and every arm's image of one prompt and seed, scored. */
    private final class Worker implements ItemWorker {
        private final RunFolder run;
        private final List<Item> items = items();
        private final StableDiffusionPipeline pipe = StableDiffusionPipeline.load(e.model(), e.vae());
        private final Vectors vectors;
        private final List<Arm> arms;
        private final List<SteeringPlan> plans = new ArrayList<>();
        private final Scorer scorer = new Scorer(e.metrics(), ops);
        private final HookedTaps taps = new HookedTaps(ops);
        private final JudgeClient judge;

        Worker(RunFolder run, String auditFile) {
            this.run = run;
            Experiment.Judge j = e.metrics().judge();
            judge = j == null ? null : new JudgeClient(j.config(), run.dir().resolve(auditFile), JudgeClient.apiKey(j.config(), System::getenv));
            TapCatalog catalog = pipe.tapCatalog(width(pipe), height(pipe));
            vectors = vectors(pipe, run.dir().resolve(VECTORS));
            arms = Arm.expand(e.setups(), vectors.taps(), vectors.scores());
            for (Arm a : arms) {
                SteeringPlan p = plan(a, vectors.files().get(a.setup().method()));
                p.check(catalog, "setup " + a.name());
                p.checkGuidance(e.generation().guidance(), "setup " + a.name());
                plans.add(p);
            }
        }

        @Override
        public ObjectNode item(int i) {
            Item it = items.get(i);
            ObjectNode line = Jsonl.JSON.createObjectNode();
            line.put("set", it.set()).put("prompt_index", it.index()).put("image", it.image()).put("prompt", it.prompt()).put("seed", it.seed());
            if (it.set().equals("target") && !e.prompts().categories(it.index()).isEmpty())
                e.prompts().categories(it.index()).forEach(line.putArray("categories")::add);
            GenerateRequest req = request(pipe, it.prompt(), it.seed());
            Scorer.ForPrompt score = scorer.forPrompt(it.prompt());
            ArrayNode results = line.putArray("arms");
            List<Question> questions = new ArrayList<>();
            for (int k = -1; k < arms.size(); k++) {
                String key = k < 0 ? "baseline" : arms.get(k).key();
                GenerateResult res;
                try (SteeringPlan.Registered reg = k < 0 ? () -> {} : plans.get(k).register(taps)) {
                    res = pipe.generate(req, ops, taps, StableDiffusionPipeline.Progress.NONE);
                }
                RgbImage img = new RgbImage(res.width(), res.height(), res.pixels()[0]);
                String file = String.format(java.util.Locale.ROOT, "%06d-%s.png", i, key);
                Map<String, String> text = StableDiffusionPipeline.pngText(req, 0, res, pipe.source);
                text.put("steering", k < 0 ? "none (baseline)" : arms.get(k).describe());
                Png.write(run.images().resolve(file), img, text);
                ObjectNode r = results.addObject().put("arm", key).put("file", RunFolder.IMAGES + "/" + file);
                score.image(img, r);
                if (judge != null)
                    questions.add(new Question(file.substring(0, file.length() - 4), run.images().resolve(file), e.metrics().judge().question(), e.metrics().judge().answer()));
            }
            if (judge != null) judge(judge.askAll(questions), results);
            return line;
        }

        @Override
        public void close() {
            if (judge != null) judge.close();
        }
    }

    /**
     * The judge's answers as the "judge" metric: yes 1, no 0, or the 0–100 score. A failed question fails the item, which
     * is then not recorded: a rerun asks again (a study's statistics pair every arm with the baseline, item by item).
     */
    private void judge(List<Judgement> js, ArrayNode results) {
        for (int k = 0; k < js.size(); k++) {
            Judgement j = js.get(k);
            if (!j.ok())
                throw new UserError("study: judge question " + j.id() + " failed: " + j.failure() + " (" + j.detail() + "); the item is not recorded,"
                    + " rerun the same command to ask again (see " + JUDGE_AUDIT + " in the run folder)");
            ((ObjectNode) results.get(k)).put(Experiment.MetricKind.JUDGE.key, j.score() != null ? j.score() : j.yes() ? 1 : 0);
        }
    }

    /** Every prompt of the target set, then of the neutral set, each {@code seeds_per_prompt} times. */
    List<Item> items() {
        List<Item> items = new ArrayList<>();
        int n = e.generation().seedsPerPrompt();
        for (String set : List.of("target", "neutral")) {
            List<String> prompts = set.equals("target") ? e.prompts().target() : e.prompts().neutral();
            for (int p = 0; p < prompts.size(); p++)
                for (int j = 0; j < n; j++) items.add(new Item(set, p, prompts.get(p), j, e.generation().seed() + (long) p * n + j));
        }
        return items;
    }

    private int width(StableDiffusionPipeline pipe) { return e.generation().width() != null ? e.generation().width() : pipe.defaultSize(); }

    private int height(StableDiffusionPipeline pipe) { return e.generation().height() != null ? e.generation().height() : pipe.defaultSize(); }

    /** The one place a study builds a generation request. */
    GenerateRequest request(StableDiffusionPipeline pipe, String prompt, long seed) {
        Experiment.Generation g = e.generation();
        return pipe.request(prompt).steps(g.steps()).guidance(g.guidance()).seed(seed).size(g.width(), g.height())
            .scheduler(g.scheduler() == null ? null : SchedulerKind.parse(g.scheduler())).build();
    }

    /** The one place a setup becomes a steering plan: its method's vectors at its taps, with its own schedule. */
    static SteeringPlan plan(Arm a, SteeringFile vectors) {
        Experiment.Setup s = a.setup();
        return SteeringPlan.defaults(vectors, a.strength()).restrictedTo(a.taps()).withOperator(s.operator()).withWindow(s.window())
            .withHalf(s.half()).withNormPreserved(s.preserveNorm()).withTokens(s.tokens());
    }

    /**
     * Each method's vectors and layer scores: read back from {@code dir} when every method's file is there (a
     * resumed run; run.json already guarantees the same settings), else one capture of the pairs' activations and
     * each method on it. A method's layer score uses its own unit vector; transport methods have none, and are
     * scored along the mean difference.
     */
    Vectors vectors(StableDiffusionPipeline pipe, Path dir) {
        if (e.methods().stream().allMatch(m -> Files.isRegularFile(file(dir, m)))) return saved(dir);
        Map<Method, SteeringFile> files = new LinkedHashMap<>();
        Map<Method, Map<String, LayerScore>> scores = new LinkedHashMap<>();
        List<PromptPairs.Pair> all = new ArrayList<>();
        e.pairs().forEach(p -> all.addAll(p.pairs().pairs()));
        PromptPairs pairs = new PromptPairs(all);
        Experiment.Capture c = e.capture();
        StableDiffusion sd = new StableDiffusion(pipe, ops);
        GenerateRequest base = request(pipe, "", e.generation().seed());
        PairedActivations.Options options = new PairedActivations.Options(c.steps(), false, c.half(), c.tokens(), c.batch());
        PairedActivations atOnce = null, incremental = null;   // one capture for every method, and one of its own for incremental AcT
        List<String> taps = null;
        try {
            Files.createDirectories(dir);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot create " + dir, ex);
        }
        for (Method m : e.methods()) {
            if (m.isIncremental() && incremental == null) {
                log.println("study: capturing " + pairs.size() + " prompt pairs at " + c.taps() + ", tap by tap, for " + m.cliName);
                incremental = PairedActivations.captureIncremental(sd, base, pairs, c.taps(), options, (d, t) -> {});
            } else if (!m.isIncremental() && atOnce == null) {
                log.println("study: capturing " + pairs.size() + " prompt pairs at " + c.taps());
                atOnce = PairedActivations.capture(sd, base, pairs, c.taps(), options, (d, t) -> {});
            }
            PairedActivations acts = m.isIncremental() ? incremental : atOnce;
            taps = acts.taps();
            Map<String, LayerScore> sc = new LinkedHashMap<>();
            SteeringFile f = acts.extract(m, Map.of());
            for (String t : acts.taps()) {
                float[] v = m.isTransport() ? Extraction.extract(Method.MEAN_DIFF, acts.positive(t), acts.negative(t)).direction()
                    : f.taps().get(t).vector(-1);
                sc.put(t, LayerScore.of(acts.positive(t), acts.negative(t), v));
            }
            Map<String, String> md = new LinkedHashMap<>();
            md.put(SteeringFile.METHOD, m.cliName);
            md.putAll(SteeringFile.modelIdentity(e.model()));
            md.put(SteeringFile.PROMPTS, pairs.sha256());
            md.put("pairs", Integer.toString(pairs.size()));
            md.put("taps", c.taps());
            md.put(SteeringFile.SCORES, SteeringFile.scoresJson(sc));
            f = new SteeringFile(md, f.taps());
            f.write(file(dir, m));
            files.put(m, f);
            scores.put(m, sc);
        }
        return new Vectors(taps, files, scores);
    }

    /** The vectors and layer scores a run kept in {@code dir}. */
    private Vectors saved(Path dir) {
        Map<Method, SteeringFile> files = new LinkedHashMap<>();
        Map<Method, Map<String, LayerScore>> scores = new LinkedHashMap<>();
        for (Method m : e.methods()) {
            if (!Files.isRegularFile(file(dir, m))) throw new UserError(dir + ": no " + m.cliName + " vectors (was the run started?)");
            SteeringFile f = SteeringFile.read(file(dir, m));
            files.put(m, f);
            scores.put(m, f.layerScores());
        }
        return new Vectors(List.copyOf(files.values().iterator().next().taps().keySet()), files, scores);
    }

    private static Path file(Path dir, Method m) { return dir.resolve(m.cliName + ".safetensors"); }

    /**
     * Merges the shards of a split run in {@code out} (as {@code eval-merge} does: each item once, images linked)
     * and writes the summary and report. Every item must be scored; the shards must have run this experiment.
     */
    public Result merge(Path out) {
        List<Path> shards = RunMerge.shardFolders(out);
        RunMerge.Result m = RunMerge.merge(out, shards);
        if (!m.complete())
            throw new UserError(out + ": " + m.missing().size() + " of " + m.itemCount() + " items are not scored yet; run the missing shards, then merge again");
        try (RunLock lock = RunLock.acquire(out)) {
            return summarise(out, shards);
        }
    }

    private Result summarise(Path out, List<Path> shards) {
        RunFolder run = RunFolder.create(out, e.toJson(), Shard.ALL, items().size());
        Vectors v = saved(shards.getFirst().resolve(VECTORS));
        try {
            Files.createDirectories(run.dir().resolve(VECTORS));
            for (Method x : e.methods())
                Files.copy(file(shards.getFirst().resolve(VECTORS), x), file(run.dir().resolve(VECTORS), x), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot copy the vectors into " + run.dir(), ex);
        }
        List<Arm> arms = Arm.expand(e.setups(), v.taps(), v.scores());
        List<ObjectNode> lines = new ArrayList<>(ScoresFile.read(run.scoresFile()).lines().values());
        StudySummary s = StudySummary.of(e, arms, v.scores(), lines, fid(lines, arms, run.dir()));
        return new Result(run, null, s.writeJson(run.dir()), s.writeReport(run.dir()));
    }

    /**
     * FID and KID of the baseline's and each arm's neutral images against the reference folder, keyed by arm ("baseline",
     * "s000", ...); empty without {@code metrics.inception} or neutral prompts. The reference features are cached as
     * eval caches them; the run's own are computed each time.
     */
    Map<String, StudySummary.SetQuality> fid(List<ObjectNode> lines, List<Arm> arms, Path dir) {
        Experiment.Fid f = e.metrics().fid();
        List<ObjectNode> neutral = lines.stream().filter(l -> l.path("set").asText().equals("neutral")).toList();
        Map<String, StudySummary.SetQuality> out = new LinkedHashMap<>();
        if (f == null || neutral.isEmpty()) return out;
        EvalSummary.Inputs in = EvalSummary.Inputs.of(f.inception(), f.referenceImages(), f.featureCache(), ops, false);
        Ctx ctx = new Ctx(ops);
        FeatureCache reference = FeatureCache.load(f.referenceImages(), in.extractor(),
            FeatureCache.cacheFile(f.featureCache(), f.referenceImages(), in.extractor()), files -> EvalSummary.features(in.inception(), ctx, files));
        List<String> keys = new ArrayList<>(List.of("baseline"));
        arms.forEach(a -> keys.add(a.key()));
        for (String key : keys) {
            List<Path> files = new ArrayList<>();
            for (ObjectNode l : neutral)
                for (var r : l.path("arms")) if (r.path("arm").asText().equals(key)) files.add(dir.resolve(r.path("file").asText()));
            if (files.size() < 2) continue;   // a covariance needs two images
            float[][] gen = EvalSummary.features(in.inception(), ctx, files);
            Estimate kid = KernelInceptionDistance.compute(gen, reference.features(), KernelInceptionDistance.DEFAULT_SUBSETS,
                KernelInceptionDistance.DEFAULT_SUBSET_SIZE, StudySummary.SEED);
            out.put(key, new StudySummary.SetQuality(FrechetDistance.between(FeatureStats.of(gen), reference.stats()), kid.mean(), kid.std(), files.size()));
        }
        return out;
    }

    /** The metrics of one image, written into its result object under each metric's key. */
    static final class Scorer {
        private final Experiment.Metrics m;
        private final ClipModel clip;
        private final Ctx ctx;
        private final float[][] probeTexts;
        private final float[] anchors;

        Scorer(Experiment.Metrics m, Backend ops) {
            this.m = m;
            this.ctx = new Ctx(ops);
            this.clip = m.clipModel() != null ? ClipModel.load(m.clipModel()) : null;
            this.probeTexts = m.probeConcept() != null
                ? clip.textEmbeds(ctx, List.of("A picture of " + m.probeConcept() + ".", "A picture of something.")) : null;
            this.anchors = m.has(Experiment.MetricKind.ANCHOR)
                ? AnchorSimilarity.centroid(clip.imageEmbeds(ctx, m.anchors().stream().map(Png::read).toList())) : null;
        }

        /** The scorer for images of one prompt (its CLIP text embedding computed once). */
        ForPrompt forPrompt(String prompt) {
            float[] text = clip != null ? clip.textEmbeds(ctx, List.of(prompt))[0] : null;
            return new ForPrompt(text);
        }

        final class ForPrompt {
            private final float[] text;

            ForPrompt(float[] text) { this.text = text; }

            void image(RgbImage img, ObjectNode out) {
                if (m.colour() != null) out.put(Experiment.MetricKind.COLOUR.key, m.colour().score(img));
                if (clip == null) return;
                float[] emb = clip.imageEmbeds(ctx, List.of(img))[0];
                out.put(Experiment.MetricKind.CLIP.key, ClipScore.score(emb, text));
                if (probeTexts != null) out.put(Experiment.MetricKind.PROBE.key, ZeroShotProbe.probabilities(emb, probeTexts, clip.logitScale())[0]);
                if (anchors != null) out.put(Experiment.MetricKind.ANCHOR.key, AnchorSimilarity.score(emb, anchors));
            }
        }
    }
}
