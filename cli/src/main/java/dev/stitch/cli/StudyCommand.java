package dev.stitch.cli;

import dev.stitch.eval.run.SettingError;
import dev.stitch.eval.run.Shard;
import dev.stitch.eval.study.Experiment;
import dev.stitch.eval.study.Study;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code stitch study FILE --out DIR}: runs the experiment file's study (see docs/study.md); the library does the work. */
@Command(name = "study", description = "Run a steering study from an experiment file: vectors, layer scores, every setup, summary.json and report.html (resumable).",
    sortOptions = false)
final class StudyCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the experiment file (YAML or JSON; see docs/study.md)")
    Path file;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "run folder (rerun the same command to resume)")
    Path out;

    @Option(names = "--shard", paramLabel = "k/n|auto", defaultValue = "0/1",
        description = "run slice k of n into DIR/shard-k-of-n (item i belongs to shard i mod n); auto: from a Slurm job array or a Kubernetes Indexed Job")
    String shard;

    @Option(names = "--merge", description = "merge the finished shards in DIR and write the summary and report")
    boolean merge;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    @Mixin SparkOptions spark;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        Shard sh = shard();
        if (merge && !sh.equals(Shard.ALL)) throw new UserError("--merge: merges every shard; leave out --shard");
        Study.Result r;
        if (!merge && spark.requested()) {
            spark.requireSpark();
            r = SparkEval.study(EvalCommand.originalArgs(spec), spark.master);
        } else {
            r = merge ? study().merge(out) : study().run(out, sh);
        }
        if (r.summary() != null) System.err.println("stitch: wrote " + r.summary() + " and " + r.report());
        else System.err.println("stitch: shard " + sh + " done in " + r.run().dir());
        return 0;
    }

    /** The study the experiment file asks for, on the chosen device. */
    Study study() { return new Study(Experiment.read(file), Devices.backend(device), System.err); }

    Shard shard() {
        try {
            return shard.strip().equals("auto") ? Shard.auto(System::getenv) : Shard.parse(shard);
        } catch (SettingError e) {
            throw new UserError("--shard " + shard + ": " + e.problem());
        }
    }
}
