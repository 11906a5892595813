package dev.stitch.cli;

import dev.stitch.eval.run.Evaluation;
import dev.stitch.eval.study.Study;
import dev.stitch.spark.SparkItemRunner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine;

/**
 * {@code stitch eval} and {@code stitch study} through Apache Spark. Spark is not in stitch.jar (a cluster provides it; {@code ./stitch} puts
 * it on the class path for {@code --spark-master local[N]}), so only this class names Spark's types, and it is loaded
 * only when Spark is asked for.
 */
final class SparkEval {
    private SparkEval() {}

    /** Whether Spark's classes can be loaded (./stitch adds them for --spark-master; spark-submit always has them). */
    static boolean available() {
        try {
            Class.forName("org.apache.spark.SparkConf", false, SparkEval.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * Runs {@code here}, the driver's evaluation (built, and so checked, before Spark starts), with its items on Spark;
     * each executor builds its own from {@code args}, the command line as given.
     */
    static void eval(Evaluation here, String[] args, String master) {
        try (JavaSparkContext sc = context("stitch eval", master)) {
            here.run(SparkItemRunner.of(sc, (dir, audit) -> parse(args, EvalCommand.class).evaluation().worker(dir, audit), System.err));
        }
    }

    /** Runs the study the command line {@code args} asks for with its items on Spark, as {@link #eval} does. */
    static Study.Result study(String[] args, String master) {
        StudyCommand here = parse(args, StudyCommand.class);
        try (JavaSparkContext sc = context("stitch study", master)) {
            return here.study().run(here.out, here.shard(), SparkItemRunner.of(sc, (dir, audit) -> parse(args, StudyCommand.class).study().worker(dir, audit), System.err));
        }
    }

    private static JavaSparkContext context(String name, String master) {
        SparkConf conf = new SparkConf().setAppName(name).setIfMissing("spark.log.level", "WARN");
        if (master != null) conf.setMaster(master);
        if (master != null && master.startsWith("local")) {
            // everything stays in this process: no web UI, and the driver listens on loopback only
            conf.set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        }
        JavaSparkContext sc = new JavaSparkContext(conf);
        sc.setLogLevel("WARN");
        return sc;
    }

    /** On an executor: the same command line, parsed the same way, gives the same command (and so the same run). */
    private static <T> T parse(String[] args, Class<T> command) {
        CommandLine.ParseResult r = new CommandLine(new Main()).parseArgs(args);
        return command.cast(r.subcommand().commandSpec().userObject());
    }
}
