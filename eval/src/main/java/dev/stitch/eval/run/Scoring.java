package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.eval.judge.JudgeClient;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Scores an images-only run (an {@link Evaluation} with no metrics) later, into a run folder of its own that is what a
 * run scoring as it generated would have written: run.json (the images-only run's request with these metrics, and
 * {@code "images_from"} naming that run), {@code images/} (hard links to its images), scores.jsonl (the same lines
 * with every setup's scores), summary.json and report.html. It resumes like any run (each item scored once), and a
 * rerun with other scoring settings is refused, naming the first difference. The images-only run must be finished.
 */
public final class Scoring {
    /** The scored folder inside the images-only run when none is named. */
    public static final String DEFAULT_FOLDER = "scored";

    private final Path run, out;
    private final ScoreSettings settings;
    private final Backend ops;
    private final PrintStream log;
    private final Function<String, String> environment;

    /** @param out the scored run folder (null: {@code run/scored}); never the images-only run itself */
    public Scoring(Path run, Path out, ScoreSettings settings, Backend ops, PrintStream log, Function<String, String> environment) {
        this.run = run;
        this.out = out != null ? out : run.resolve(DEFAULT_FOLDER);
        this.settings = settings;
        this.ops = ops;
        this.log = log;
        this.environment = environment;
    }

    /** Checks everything, then scores the items not scored yet and writes the summary and report. */
    public Evaluation.Result run() {
        if (settings.metrics().isEmpty()) throw new SettingError("metrics", null, "name at least one metric to score with");
        if (settings.metrics().contains(Metric.ANCHOR))
            throw new SettingError("metrics", "anchor", "needs the concept set the run was made from: score anchor as the run generates (stitch eval)");
        settings.check();
        RunFolder images = RunFolder.open(run);
        ObjectNode request = images.request();
        if (!request.path("metrics").isArray() || !request.path("metrics").isEmpty())
            throw new UserError(run + ": not an images-only run (its metrics are " + request.path("metrics") + "); score runs made with --metrics none");
        if (out.toAbsolutePath().normalize().equals(run.toAbsolutePath().normalize()))
            throw new SettingError("out", out, "the scores go to a folder of their own, not into the images-only run");
        EvalSettings.checkNotOver("out", out, settings.inputs());
        Map<Integer, ObjectNode> made = ScoresFile.read(images.scoresFile()).lines();
        int inShard = 0;
        for (int i = 0; i < images.itemCount(); i++) if (images.shard().contains(i)) inShard++;
        if (made.size() < inShard)
            throw new UserError(run + ": " + made.size() + " of " + inShard + " items are made; finish the run (rerun the same eval), then score it");
        String apiKey = settings.metrics().contains(Metric.JUDGE) ? JudgeClient.apiKey(settings.judge(), environment) : null;
        EvalSummary.Inputs summary = settings.summaryInputs(ops);
        ImageScorer scorer = settings.scorer(ops, log);

        ObjectNode scored = request.deepCopy();
        scored.remove("metrics");
        settings.putInto(scored);
        scored.put("images_from", ScoreSettings.folderName(run));
        try (RunLock lock = RunLock.acquire(out)) {
            RunFolder to = RunFolder.create(out, scored, images.shard(), images.itemCount());
            RunMerge.linkImages(images.images(), to.images());
            log.println("stitch: scoring " + made.size() + " items of " + run + " into " + to.dir());
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < images.itemCount(); i++) items.add(i);
            try (JudgeClient judge = settings.metrics().contains(Metric.JUDGE)
                ? new JudgeClient(settings.judge(), to.dir().resolve("judge-audit.jsonl"), apiKey) : null) {
                int[] failuresInARow = {0};
                new EvalRunner(1, log, Duration.ofSeconds(5)).run(to, items, (i, unused, dir) -> {
                    ObjectNode line = made.get(i).deepCopy();
                    line.remove("item");
                    ArrayNode results = (ArrayNode) line.get("setups");
                    List<RgbImage> imgs = new ArrayList<>();
                    List<Path> files = new ArrayList<>();
                    for (JsonNode r : results) {
                        Path f = to.dir().resolve(r.path("file").asText());
                        imgs.add(Png.read(f));
                        files.add(f);
                    }
                    scorer.score(line.path("prompt").asText(), line.path("category").asText(null), results, imgs, files, judge);
                    if (judge != null) Evaluation.countFailures(line, failuresInARow, settings.judgeFailureLimit(), to.dir().resolve("judge-audit.jsonl"));
                    return line;
                });
            }
            EvalSummary.Totals t = EvalSummary.write(to, summary);
            log.println("stitch: wrote " + to.dir().resolve(EvalSummary.SUMMARY) + " and " + to.dir().resolve(RunFolder.REPORT));
            return Evaluation.finish(to, t, settings.metrics().contains(Metric.JUDGE), log);
        }
    }
}
