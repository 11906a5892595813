package dev.stitch.cli;

import dev.stitch.eval.run.Evaluation;
import dev.stitch.spark.SparkEvaluation;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine;

/**
 * {@code stitch eval} through Apache Spark. Spark is not in stitch.jar (a cluster provides it; {@code ./stitch} puts
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
    static void run(Evaluation here, String[] args, String master) {
        SparkConf conf = new SparkConf().setAppName("stitch eval").setIfMissing("spark.log.level", "WARN");
        if (master != null) conf.setMaster(master);
        if (master != null && master.startsWith("local")) {
            // everything stays in this process: no web UI, and the driver listens on loopback only
            conf.set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        }
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            SparkEvaluation.run(sc, here, () -> parse(args).evaluation(), System.err);
        }
    }

    /** On an executor: the same command line, parsed the same way, gives the same evaluation. */
    private static EvalCommand parse(String[] args) {
        CommandLine.ParseResult r = new CommandLine(new Main()).parseArgs(args);
        return (EvalCommand) r.subcommand().commandSpec().userObject();
    }
}
