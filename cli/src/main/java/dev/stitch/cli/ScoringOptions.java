package dev.stitch.cli;

import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.run.EvalSettings;
import dev.stitch.eval.run.Metric;
import dev.stitch.eval.run.ScoreSettings;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** How images are scored, shared by {@code stitch eval} (scoring as it generates) and {@code stitch score} (later). */
final class ScoringOptions {
    @Option(names = "--clip", paramLabel = "DIR", description = "transformers CLIP folder (for clip and probe, with its tokenizer; for anchor)")
    Path clip;

    @Option(names = "--probe-concept", paramLabel = "TEXT", description = "probe: P(\"A picture of TEXT.\") vs \"A picture of something.\"")
    String probeConcept;

    @Option(names = "--inception", paramLabel = "FILE", description = "FID Inception weights, .safetensors or pytorch-fid's .pth (for fid and kid)")
    Path inception;

    @Option(names = "--reference-images", paramLabel = "DIR", description = "reference image folder for fid and kid (only read)")
    Path referenceImages;

    @Option(names = "--feature-cache", paramLabel = "DIR",
        description = "where reference features are cached (default: $XDG_CACHE_HOME/stitch/features or ~/.cache/stitch/features)")
    Path featureCache;

    @Option(names = "--judge-url", paramLabel = "URL", description = "OpenAI-compatible API root, e.g. http://localhost:8000/v1")
    String judgeUrl;

    @Option(names = "--judge-model", paramLabel = "M", description = "the judge model's name on that server")
    String judgeModel;

    @Option(names = "--judge-key-env", paramLabel = "VAR", defaultValue = JudgeConfig.DEFAULT_API_KEY_ENV,
        description = "environment variable holding the API key; empty for none (default ${DEFAULT-VALUE})")
    String judgeKeyEnv;

    @Option(names = "--judge-question", paramLabel = "TEXT",
        description = "the question (default \"Does this image show TEXT?\" with --probe-concept); with --judge-answer score, \"How much does this image show TEXT, on a scale from 0 to 100?\"")
    String judgeQuestion;

    @Option(names = "--judge-answer", paramLabel = "A", defaultValue = "yes-no",
        description = "what the judge answers: yes-no, or score (an integer from 0 to 100) (default ${DEFAULT-VALUE})")
    String judgeAnswer;

    @Option(names = "--judge-deadline", paramLabel = "S", defaultValue = "" + JudgeConfig.DEFAULT_QUESTION_DEADLINE_SECONDS,
        description = "seconds one question may take, retries and waits included (default ${DEFAULT-VALUE})")
    long judgeDeadline;

    @Option(names = "--judge-max-failures", paramLabel = "N", defaultValue = "" + EvalSettings.DEFAULT_JUDGE_FAILURE_LIMIT,
        description = "stop the run after N judge questions fail in a row; rerun to resume (default ${DEFAULT-VALUE})")
    int judgeMaxFailures;

    @Option(names = "--judge-concurrency", paramLabel = "N", defaultValue = "4",
        description = "judge questions in flight at once, per process (with eval --spark-master: per executor) (default ${DEFAULT-VALUE})")
    int judgeConcurrency;

    @Option(names = "--inline-images", description = "embed the images in report.html so it can travel alone")
    boolean inlineImages;

    /**
     * The scoring these flags ask for. {@code metrics} are the --metrics values; "none" (alone, and only where
     * {@code noneAllowed}) asks for images only.
     */
    ScoreSettings settings(List<String> metrics, boolean noneAllowed) {
        Set<Metric> ms = EnumSet.noneOf(Metric.class);
        boolean none = metrics.stream().anyMatch(m -> m.strip().equalsIgnoreCase("none"));
        if (none && (!noneAllowed || metrics.size() > 1))
            throw new UserError("--metrics " + String.join(",", metrics) + ": " + (noneAllowed ? "none (images only) goes alone"
                : "expected any of clip, probe, fid, kid, judge"));
        if (!none) for (String m : metrics) ms.add(Metric.parse(m));
        return new ScoreSettings(ms, clip, probeConcept, inception, referenceImages,
            featureCache != null ? featureCache : EvalSettings.defaultFeatureCache(), judge(), judgeQuestion, answer(), judgeMaxFailures, inlineImages);
    }

    private Question.Kind answer() {
        return switch (judgeAnswer.strip()) {
            case "yes-no" -> Question.Kind.YES_NO;
            case "score" -> Question.Kind.SCORE;
            default -> throw new UserError("--judge-answer " + judgeAnswer + ": expected yes-no or score");
        };
    }

    JudgeConfig judge() {
        if (judgeUrl == null) {
            if (judgeModel != null) throw new UserError("--judge-model: needs --judge-url URL");
            return null;
        }
        if (judgeModel == null) throw new UserError("--judge-url: needs --judge-model M (the judge model's name on that server)");
        if (judgeDeadline < 1) throw new UserError("--judge-deadline " + judgeDeadline + ": must be at least 1 second");
        if (judgeConcurrency < 1) throw new UserError("--judge-concurrency " + judgeConcurrency + ": must be at least 1");
        URI u;
        try {
            u = URI.create(judgeUrl);
        } catch (IllegalArgumentException e) {
            throw new UserError("--judge-url: not a URL (" + e.getMessage() + ")");
        }
        try {
            JudgeConfig c = JudgeConfig.of(u, judgeModel).withApiKeyEnv(judgeKeyEnv).withQuestionDeadline(Duration.ofSeconds(judgeDeadline));
            return c.withLimits(judgeConcurrency, c.requestTimeout(), c.maxAttempts());
        } catch (UserError e) {
            throw new UserError("--judge-url " + (u.getScheme() == null ? judgeUrl : JudgeConfig.redact(u)) + ": expected an http(s) URL with a host,"
                + " e.g. http://localhost:8000/v1");
        }
    }

}
