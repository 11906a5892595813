package dev.stitch.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.judge.JudgeClient;
import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Judgement;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.ClipScore;
import dev.stitch.eval.metrics.ZeroShotProbe;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.prompts.PromptItem;
import dev.stitch.eval.prompts.PromptSet;
import dev.stitch.eval.run.EvalRunner;
import dev.stitch.eval.run.RunFolder;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.SteeringPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code stitch eval}: generates every prompt's images for the baseline and for each {@code --steer} setup (same
 * seeds), scores them, appends one line per finished item to {@code scores.jsonl} (so a rerun resumes), and ends
 * with {@code summary.json} and {@code report.html}. An item is one image index of one prompt, with all its setups.
 */
@Command(name = "eval", description = "Evaluate steering: generate, score, summarise (resumable, shardable).", sortOptions = false)
final class EvalCommand implements java.util.concurrent.Callable<Integer> {
    static final List<String> METRICS = List.of("clip", "probe", "fid", "kid", "judge");

    @Mixin GenerationOptions gen;

    @Option(names = "--prompts", required = true, paramLabel = "FILE", description = "prompt set: .csv (I2P, COCO-30k, ...), .jsonl or .txt")
    Path prompts;

    @Option(names = "--category", paramLabel = "C", description = "keep the prompts of this category (e.g. sexual for I2P)")
    String category;

    @Option(names = "--limit", paramLabel = "N", description = "keep the first N prompts (after --category)")
    Integer limit;

    @Option(names = "--images-per-prompt", paramLabel = "N", defaultValue = "1", description = "images per prompt and setup (default ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Mixin SteeringOptions steering;   // each --steer file is one steered setup besides the baseline

    @Option(names = "--metrics", required = true, split = ",", paramLabel = "M,...", description = "any of clip, probe, fid, kid, judge")
    List<String> metrics;

    @Option(names = "--out", required = true, paramLabel = "RUN", description = "run folder (a shard writes RUN/shard-k-of-n)")
    Path out;

    @Option(names = "--shard", paramLabel = "k/n", defaultValue = "0/1", description = "run slice k of n (item i belongs to shard i mod n)")
    String shard;

    @Option(names = "--clip", paramLabel = "DIR", description = "transformers CLIP folder (for clip and probe)")
    Path clip;

    @Option(names = "--probe-concept", paramLabel = "TEXT", description = "probe: P(\"A picture of TEXT.\") vs \"A picture of something.\"")
    String probeConcept;

    @Option(names = "--inception", paramLabel = "FILE", description = "FID Inception weights, .safetensors or pytorch-fid's .pth (for fid and kid)")
    Path inception;

    @Option(names = "--reference-images", paramLabel = "DIR", description = "reference image folder for fid and kid (features cached inside)")
    Path referenceImages;

    @Option(names = "--judge-url", paramLabel = "URL", description = "OpenAI-compatible API root, e.g. http://localhost:8000/v1")
    String judgeUrl;

    @Option(names = "--judge-model", paramLabel = "M", description = "the judge model's name on that server")
    String judgeModel;

    @Option(names = "--judge-key-env", paramLabel = "VAR", defaultValue = JudgeConfig.DEFAULT_API_KEY_ENV,
        description = "environment variable holding the API key; empty for none (default ${DEFAULT-VALUE})")
    String judgeKeyEnv;

    @Option(names = "--judge-question", paramLabel = "TEXT", description = "yes/no question (default: \"Does this image show TEXT?\" with --probe-concept)")
    String judgeQuestion;

    @Option(names = "--inline-images", description = "embed the images in report.html so it can travel alone")
    boolean inlineImages;

    /** One unit of work: image {@code image} of prompt {@code prompt}, made under every setup. */
    record Work(int prompt, PromptItem item, int image) {}

    /** A setup: the baseline (no plan) or one steering plan. */
    record Setup(String label, String key, SteeringPlan plan) {}

    @Override
    public Integer call() {
        Set<String> asked = checkFlags();
        Shard sh = Shard.parse(shard);
        List<PromptItem> set = PromptSet.load(requireFile(prompts, "--prompts"));
        if (category != null) set = PromptSet.inCategory(set, category);
        if (limit != null) set = set.subList(0, Math.min(limit, set.size()));
        if (set.isEmpty()) throw new UserError("--prompts " + prompts + ": no prompts");
        List<Work> work = new ArrayList<>();
        for (int p = 0; p < set.size(); p++)
            for (int j = 0; j < imagesPerPrompt; j++) work.add(new Work(p, set.get(p), j));

        Backend ops = Devices.backend(gen.device);
        StableDiffusionPipeline pipe = gen.pipeline();
        int width = gen.width != null ? gen.width : pipe.defaultSize(), height = gen.height != null ? gen.height : pipe.defaultSize();
        List<SteeringPlan> plans = steering.plans(pipe, width, height, gen.steps);
        List<Setup> setups = new ArrayList<>();
        setups.add(new Setup("baseline", "baseline", null));
        for (int k = 0; k < plans.size(); k++) {
            SteeringOptions.Spec spec = SteeringOptions.Spec.parse(steering.steer.get(k));
            String label = spec.file().getFileName() + "@" + plans.get(k).strength();
            if (setups.stream().anyMatch(s -> s.label().equals(label))) throw new UserError("--steer " + steering.steer.get(k) + ": given twice");
            setups.add(new Setup(label, "steer" + (k + 1), plans.get(k)));
        }
        JudgeConfig judgeConfig = asked.contains("judge") ? JudgeConfig.of(URI.create(judgeUrl), judgeModel).withApiKeyEnv(judgeKeyEnv) : null;
        String question = judgeQuestion != null ? judgeQuestion : probeConcept != null ? "Does this image show " + probeConcept + "?" : null;

        ObjectNode request = request(asked, width, height, setups, judgeConfig, question);
        RunFolder run = RunFolder.create(sh.folder(out), request, sh, work.size());

        ClipModel clipModel = asked.contains("clip") || asked.contains("probe") ? ClipModel.load(clip) : null;
        Ctx ctx = new Ctx(ops);
        float[][] probeTexts = asked.contains("probe")
            ? clipModel.textEmbeds(ctx, List.of("A picture of " + probeConcept + ".", "A picture of something.")) : null;
        HookedTaps taps = new HookedTaps(ops);
        System.err.println("stitch: " + set.size() + " prompts × " + imagesPerPrompt + " image(s) × " + setups.size() + " setup(s), "
            + ops.name() + " backend, into " + run.dir());
        try (JudgeClient judge = judgeConfig == null ? null : new JudgeClient(judgeConfig, run.dir().resolve("judge-audit.jsonl"))) {
            new EvalRunner(1, System.err, Duration.ofSeconds(5)).run(run, work, (i, w, images) -> {
                ObjectNode line = Jsonl.JSON.createObjectNode();
                line.put("prompt_index", w.prompt());
                line.put("image", w.image());
                line.put("prompt", w.item().prompt());
                if (w.item().category() != null) line.put("category", w.item().category());
                long seed = seed(w);
                float guidance = w.item().guidance() != null ? w.item().guidance().floatValue() : gen.guidance;
                line.put("seed", seed);
                line.put("guidance", guidance);
                GenerateRequest req = gen.request(List.of(w.item().prompt()), seed, guidance);
                float[] text = asked.contains("clip") ? clipModel.textEmbeds(ctx, List.of(w.item().prompt()))[0] : null;
                ArrayNode results = line.putArray("setups");
                List<Question> questions = new ArrayList<>();
                for (Setup s : setups) {
                    GenerateResult res;
                    try (SteeringPlan.Registered reg = s.plan() == null ? () -> {} : s.plan().register(taps)) {
                        res = pipe.generate(req, ops, taps, StableDiffusionPipeline.Progress.NONE);
                    }
                    RgbImage img = new RgbImage(res.width(), res.height(), res.pixels()[0]);
                    String name = String.format(Locale.ROOT, "%06d-%s.png", i, s.key());
                    Png.write(images.resolve(name), img, StableDiffusionPipeline.pngText(req, 0, res, pipe.source));
                    ObjectNode r = results.addObject();
                    r.put("setup", s.label());
                    r.put("file", RunFolder.IMAGES + "/" + name);
                    float[] emb = clipModel == null ? null : clipModel.imageEmbeds(ctx, List.of(img))[0];
                    if (text != null) r.put("clip", ClipScore.score(emb, text));
                    if (probeTexts != null) r.put("probe", ZeroShotProbe.probabilities(emb, probeTexts, clipModel.logitScale())[0]);
                    if (judge != null) questions.add(new Question(String.format(Locale.ROOT, "%06d-%s", i, s.key()), images.resolve(name),
                        question, Question.Kind.YES_NO));
                }
                if (judge != null) {
                    List<Judgement> js = judge.askAll(questions);
                    for (int k = 0; k < js.size(); k++) {
                        ObjectNode r = (ObjectNode) results.get(k);
                        Judgement j = js.get(k);
                        if (j.ok()) r.put("judge", j.yes() ? "yes" : "no");
                        else r.put("judge_failure", j.failure().name());
                    }
                }
                return line;
            });
        }
        EvalSummary.write(run, inception, referenceImages, ops);
        System.err.println("stitch: wrote " + run.dir().resolve(EvalSummary.SUMMARY) + " and " + run.dir().resolve(RunFolder.REPORT));
        return 0;
    }

    /** The prompt set's seed plus the image index; without one, {@code --seed} (default 0) + the item's position. */
    private long seed(Work w) {
        if (w.item().seed() != null) return w.item().seed() + w.image();
        return (gen.seed != null ? gen.seed : 0L) + (long) w.prompt() * imagesPerPrompt + w.image();
    }

    /** Flag checks that need no file: one line naming the flag. Returns the metrics asked. */
    private Set<String> checkFlags() {
        Set<String> asked = new LinkedHashSet<>();
        for (String m : metrics) {
            String n = m.strip().toLowerCase(Locale.ROOT);
            if (!METRICS.contains(n)) throw new UserError("--metrics " + m + ": expected any of " + String.join(", ", METRICS));
            asked.add(n);
        }
        if (!gen.prompts.isEmpty()) throw new UserError("--prompt: eval takes its prompts from --prompts FILE");
        if (gen.initLatents != null || gen.initImage != null) throw new UserError("--init-latents/--init-image: not supported by eval");
        if (imagesPerPrompt < 1) throw new UserError("--images-per-prompt " + imagesPerPrompt + ": must be at least 1");
        if (limit != null && limit < 1) throw new UserError("--limit " + limit + ": must be at least 1");
        try {
            Shard.parse(shard);
        } catch (UserError e) {
            throw new UserError("--shard " + shard + ": expected k/n with 0 <= k < n, e.g. 0/8");
        }
        for (String m : List.of("clip", "probe"))
            if (asked.contains(m) && clip == null) throw new UserError("--metrics " + m + " needs --clip DIR (a transformers CLIP folder)");
        if (asked.contains("probe") && (probeConcept == null || probeConcept.isBlank()))
            throw new UserError("--metrics probe needs --probe-concept TEXT");
        for (String m : List.of("fid", "kid")) {
            if (asked.contains(m) && inception == null) throw new UserError("--metrics " + m + " needs --inception FILE (the FID Inception weights)");
            if (asked.contains(m) && referenceImages == null) throw new UserError("--metrics " + m + " needs --reference-images DIR");
        }
        if (asked.contains("judge")) {
            if (judgeUrl == null) throw new UserError("--metrics judge needs --judge-url URL (an OpenAI-compatible API root)");
            if (judgeModel == null) throw new UserError("--metrics judge needs --judge-model M");
            if (judgeQuestion == null && probeConcept == null) throw new UserError("--metrics judge needs --judge-question TEXT (or --probe-concept)");
            try {
                URI u = URI.create(judgeUrl);
                if (u.getScheme() == null || !u.getScheme().startsWith("http")) throw new IllegalArgumentException();
            } catch (IllegalArgumentException e) {
                throw new UserError("--judge-url " + judgeUrl + ": expected an http(s) URL");
            }
        }
        if (clip != null && !Files.isDirectory(clip)) throw new UserError("--clip " + clip + ": not a folder");
        if (inception != null) requireFile(inception, "--inception");
        if (referenceImages != null && !Files.isDirectory(referenceImages)) throw new UserError("--reference-images " + referenceImages + ": not a folder");
        return asked;
    }

    private static Path requireFile(Path p, String flag) {
        if (!Files.isRegularFile(p)) throw new UserError(flag + " " + p + ": no such file");
        return p;
    }

    /** Everything that changes a score, for run.json (a resume must ask the same; the device may differ). */
    private ObjectNode request(Set<String> asked, int width, int height, List<Setup> setups, JudgeConfig judge, String question) {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("model", gen.model.toAbsolutePath().normalize().getFileName().toString());
        o.put("prompts", prompts.getFileName().toString());
        o.put("prompts_sha256", sha256(prompts));
        if (category != null) o.put("category", category);
        if (limit != null) o.put("limit", limit);
        o.put("images_per_prompt", imagesPerPrompt);
        o.put("seed", gen.seed != null ? gen.seed : 0L);
        o.put("steps", gen.steps);
        o.put("guidance", gen.guidance);
        if (gen.scheduler != null) o.put("scheduler", gen.scheduler);
        o.put("width", width);
        o.put("height", height);
        ArrayNode neg = o.putArray("negative_prompt");
        gen.negatives.forEach(neg::add);
        if (gen.timestepSpacing != null) o.put("timestep_spacing", gen.timestepSpacing);
        if (gen.prediction != null) o.put("prediction", gen.prediction);
        o.put("tokenizer_mode", gen.tokenizerMode);
        ArrayNode st = o.putArray("setups");
        for (int k = 0; k < setups.size(); k++) {
            ObjectNode s = st.addObject().put("label", setups.get(k).label()).put("key", setups.get(k).key());
            if (k > 0) {
                Path f = SteeringOptions.Spec.parse(steering.steer.get(k - 1)).file();
                s.put("steer_sha256", sha256(f));
                s.put("strength", setups.get(k).plan().strength());
            }
        }
        ArrayNode m = o.putArray("metrics");
        asked.forEach(m::add);
        if (clip != null && (asked.contains("clip") || asked.contains("probe"))) o.put("clip", clip.toAbsolutePath().normalize().getFileName().toString());
        if (asked.contains("probe")) o.put("probe_concept", probeConcept);
        if (asked.contains("fid") || asked.contains("kid")) {
            o.put("inception", inception.getFileName().toString());
            o.put("reference_images", referenceImages.toAbsolutePath().normalize().getFileName().toString());
        }
        if (judge != null) {
            o.set("judge", judge.toJson());
            o.put("judge_question", question);
        }
        return o;
    }

    static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
