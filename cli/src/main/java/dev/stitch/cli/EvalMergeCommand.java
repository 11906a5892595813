package dev.stitch.cli;

import dev.stitch.eval.run.EvalSettings;
import dev.stitch.eval.run.EvalSummary;
import dev.stitch.eval.run.Evaluation;
import dev.stitch.eval.run.RunFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code stitch eval-merge RUN}: merges the shard folders {@code RUN/shard-k-of-n} that {@code stitch eval --shard}
 * wrote into RUN itself (run.json, scores.jsonl, images/), then writes RUN's summary.json and report.html
 * ({@link Evaluation#merge}). Unfinished items are reported, not refused, so it can also show progress.
 */
@Command(name = "eval-merge", description = "Merge the shards of an eval run and summarise it.", sortOptions = false)
final class EvalMergeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN", description = "the --out folder the shards were written into")
    Path out;

    @Option(names = "--inception", paramLabel = "FILE", description = "FID Inception weights (when the run asks for fid or kid)")
    Path inception;

    @Option(names = "--reference-images", paramLabel = "DIR", description = "reference image folder (when the run asks for fid or kid)")
    Path referenceImages;

    @Option(names = "--feature-cache", paramLabel = "DIR", description = "where reference features are cached (default: $XDG_CACHE_HOME/stitch/features or ~/.cache/stitch/features)")
    Path featureCache;

    @Option(names = "--inline-images", description = "embed the images in report.html so it can travel alone")
    boolean inlineImages;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto, for fid/kid (default ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() {
        Evaluation.Merged m;
        try {
            m = Evaluation.merge(out, EvalSummary.Inputs.of(inception, referenceImages,
                featureCache != null ? featureCache : EvalSettings.defaultFeatureCache(), Devices.backend(device), inlineImages));
        } catch (dev.stitch.eval.run.SettingError e) {
            throw EvalCommand.asFlagError(e);
        }
        var r = m.merge();
        System.err.println("stitch: merged " + r.shards() + " shard(s): " + r.items() + " of " + r.itemCount() + " items scored"
            + (r.complete() ? "" : ", " + r.missing().size() + " still missing"));
        System.err.println("stitch: wrote " + out.resolve(EvalSummary.SUMMARY) + " and " + out.resolve(RunFolder.REPORT));
        return 0;
    }
}
