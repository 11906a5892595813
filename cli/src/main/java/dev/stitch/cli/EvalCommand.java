package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.eval.run.EvalSettings;
import dev.stitch.eval.run.Evaluation;
import dev.stitch.eval.run.ScoreSettings;
import dev.stitch.eval.run.SettingError;
import dev.stitch.eval.run.SetupSpec;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import static java.util.Map.entry;

/**
 * {@code stitch eval}: parses the flags into {@link EvalSettings} and runs an {@link Evaluation}, which generates every
 * prompt's images for the baseline and each {@code --steer} setup, scores them, resumes from {@code scores.jsonl} and
 * ends with {@code summary.json} and {@code report.html}. The library names its parameters; {@link #asFlagError} says
 * them as flags.
 */
@Command(name = "eval", description = "Evaluate steering: generate, score, summarise (resumable, shardable).", sortOptions = false,
    resourceBundle = "dev.stitch.cli.EvalCommand")
final class EvalCommand implements Callable<Integer> {
    @Mixin GenerationOptions gen;

    @Option(names = "--prompts", required = true, paramLabel = "FILE", description = "prompt set: .csv (I2P, COCO-30k, ...: see data/ in the repository), .jsonl or .txt; a concept set (prompt, concept, anchors) for anchor")
    Path prompts;

    @Option(names = "--category", paramLabel = "C", description = "keep the prompts of this category (e.g. sexual for I2P)")
    String category;

    @Option(names = "--limit", paramLabel = "N", description = "keep the first N prompts (after --category)")
    Integer limit;

    @Option(names = "--images-per-prompt", paramLabel = "N", defaultValue = "1", description = "images per prompt and setup (default ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--prompt-sizes",
        description = "make each prompt at the image size its prompt set gives (I2P's sd_image_width/height; width/height in .csv or .jsonl), the others at --width/--height")
    boolean promptSizes;

    @Mixin SteeringOptions steering;   // each --steer file is one steered setup besides the baseline

    @Option(names = "--setup", paramLabel = "KEY=V,...",
        description = "a steered setup with its own schedule: name=N,file=F,strength=S,op=OP,window=STEPS,half=H,taps=GLOB,"
            + "preserve-norm=true|false,tokens=all|last|eos|I,J (text-encoder taps); only file is required, a key left out takes the file's own value; repeatable, after the --steer setups")
    List<String> setups = new ArrayList<>();

    @Option(names = "--metrics", required = true, split = ",", paramLabel = "M,...",
        description = "any of clip, probe, fid, kid, judge, anchor (anchor: a concept set's --prompts); none: images only, scored later by stitch score")
    List<String> metrics;

    @Option(names = "--out", required = true, paramLabel = "RUN", description = "run folder (a shard writes RUN/shard-k-of-n); never an input's folder")
    Path out;

    @Option(names = "--shard", paramLabel = "k/n|auto", defaultValue = "0/1",
        description = "run slice k of n (item i belongs to shard i mod n); auto: from a Slurm job array or a Kubernetes Indexed Job")
    String shard;

    @Mixin ScoringOptions scoring;

    @Mixin SparkOptions spark;

    @Spec CommandSpec spec;

    /** The flag of each {@link EvalSettings} parameter. */
    private static final Map<String, String> FLAGS = Map.ofEntries(
        entry("prompts", "--prompts"), entry("category", "--category"), entry("limit", "--limit"),
        entry("imagesPerPrompt", "--images-per-prompt"), entry("steps", "--steps"), entry("guidance", "--guidance"),
        entry("steering", "--steer"), entry("setup", "--setup"), entry("metrics", "--metrics"), entry("clip", "--clip"), entry("probeConcept", "--probe-concept"),
        entry("inception", "--inception"), entry("referenceImages", "--reference-images"), entry("featureCache", "--feature-cache"),
        entry("judge", "--judge-url"), entry("judgeQuestion", "--judge-question"), entry("judgeFailureLimit", "--judge-max-failures"),
        entry("judgeAnswer", "--judge-answer"), entry("promptSizes", "--prompt-sizes"),
        entry("out", "--out"), entry("shard", "--shard"), entry("scheduler", "--scheduler"), entry("timestepSpacing", "--timestep-spacing"),
        entry("prediction", "--prediction"), entry("width", "--width"), entry("height", "--height"));

    @Override
    public Integer call() {
        try {
            run();
            return 0;
        } catch (SettingError e) {
            throw asFlagError(e);
        }
    }

    private void run() {
        if (spark.requested()) {
            spark.requireSpark();
            SparkEval.eval(evaluation(), originalArgs(spec), spark.master);
            return;
        }
        evaluation().run();
    }

    /** The command line as given, the command's name first: what a Spark executor parses to build the same run. */
    static String[] originalArgs(CommandSpec spec) {
        CommandLine top = spec.commandLine();
        while (top.getParent() != null) top = top.getParent();
        return top.getParseResult().originalArgs().toArray(String[]::new);
    }

    /** The evaluation these flags ask for: every check that needs no model, then the model, then the rest. */
    Evaluation evaluation() {
        if (!gen.prompts.isEmpty()) throw new UserError("--prompt: eval takes its prompts from --prompts FILE");
        if (gen.initLatents != null || gen.initImage != null) throw new UserError("--init-latents/--init-image: not supported by eval");
        ScoreSettings sc = scoring.settings(metrics, true);
        EvalSettings.Builder b = EvalSettings.builder(prompts, out)
            .category(category).limit(limit).imagesPerPrompt(imagesPerPrompt).promptSizes(promptSizes)
            // --guidance given: every prompt at it (SD-Turbo at 0 with I2P); not given: a prompt set's own guidance wins
            .fixedGuidance(spec.commandLine().getParseResult().hasMatchedOption("--guidance")).shard(shard())
            .clip(sc.clip()).probeConcept(sc.probeConcept()).inception(sc.inception()).referenceImages(sc.referenceImages())
            .featureCache(sc.featureCache()).judge(sc.judge()).judgeQuestion(sc.judgeQuestion()).judgeAnswer(sc.judgeAnswer())
            .judgeFailureLimit(sc.judgeFailureLimit()).inlineImages(sc.inlineImages()).metrics(sc.metrics());
        List<SetupSpec> specs = setups.stream().map(SetupSpec::parse).toList();
        for (SetupSpec spec : specs)
            if (!java.nio.file.Files.isRegularFile(spec.file())) throw new UserError("--setup " + spec.text() + ": " + spec.file() + ": no such steering file");
        b.build();   // every check that needs no model, before the model is read
        StableDiffusionPipeline pipe = gen.pipeline();
        int width = gen.width != null ? gen.width : pipe.defaultSize(), height = gen.height != null ? gen.height : pipe.defaultSize();
        // the generation flags, checked as every generating command checks them
        GenerateRequest g = gen.request(pipe, List.of("(eval)"), gen.seed != null ? gen.seed : 0L, gen.guidance);
        b.generation(new EvalSettings.Generation(g.seed(), g.steps(), g.guidance(), g.scheduler(), width, height, g.negativePrompts(),
            g.timestepSpacing(), g.prediction(), g.tokenizerMode()));
        // each prompt row may set its own guidance, so Evaluation checks the plans against it
        List<SteeringPlan> plans = steering.plans(pipe, width, height, gen.steps, null);
        for (int k = 0; k < plans.size(); k++) b.steer(SteeringOptions.Spec.parse(steering.steer.get(k)).file(), plans.get(k));
        TapCatalog catalog = setups.isEmpty() ? null : pipe.tapCatalog(width, height);
        for (SetupSpec spec : specs) {
            SteeringFile file;
            try {
                file = SteeringFile.read(spec.file());
            } catch (UserError e) {
                throw new UserError("--setup " + spec.text() + ": " + e.getMessage(), e);
            }
            SteeringPlan plan = spec.plan(file, g.steps());
            plan.check(catalog, "--setup " + spec.text());
            b.steer(spec.name(), spec.file(), plan);
        }
        return new Evaluation(pipe, Devices.backend(gen.device), b.build());
    }

    private Shard shard() {
        if (!shard.strip().equals("auto")) return Shard.parse(shard);
        Shard s = Shard.auto(System::getenv);
        System.err.println("stitch: --shard auto: shard " + s + " from the job scheduler's environment");
        return s;
    }

    /** A library {@link SettingError} as the CLI says it: the parameter's flag, the value, the problem. */
    static UserError asFlagError(SettingError e) {
        String flag = FLAGS.getOrDefault(e.parameter(), e.parameter());
        return new UserError(flag + (e.value() == null ? "" : " " + e.value()) + ": " + e.problem());
    }
}
