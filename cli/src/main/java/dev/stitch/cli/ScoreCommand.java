package dev.stitch.cli;

import dev.stitch.eval.run.Evaluation;
import dev.stitch.eval.run.SettingError;
import dev.stitch.eval.run.Scoring;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code stitch score RUN --metrics ...}: scores the images of an images-only eval run ({@code --metrics none}) into a
 * run folder of its own ({@link Scoring}): the same scores.jsonl, summary.json and report.html as a run that scored as
 * it generated, resumable, and refused when rerun with other scoring settings.
 */
@Command(name = "score", description = "Score an images-only eval run (made with --metrics none).", sortOptions = false)
final class ScoreCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN", description = "the images-only run folder (eval --metrics none --out RUN)")
    Path run;

    @Option(names = "--metrics", required = true, split = ",", paramLabel = "M,...", description = "any of clip, probe, fid, kid, judge")
    List<String> metrics;

    @Option(names = "--out", paramLabel = "DIR", description = "the scored run folder (default: RUN/" + Scoring.DEFAULT_FOLDER + ")")
    Path out;

    @Mixin ScoringOptions scoring;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() {
        try {
            Evaluation.Result r = new Scoring(run, out, scoring.settings(metrics, false), Devices.backend(device), System.err, System::getenv).run();
            System.err.println("stitch: " + r.itemsDone() + " of " + r.itemCount() + " items scored in " + r.runDir());
            return 0;
        } catch (SettingError e) {
            throw EvalCommand.asFlagError(e);
        }
    }
}
