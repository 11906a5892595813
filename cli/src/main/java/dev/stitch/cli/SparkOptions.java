package dev.stitch.cli;

import dev.stitch.kernels.UserError;
import picocli.CommandLine.Option;

/** {@code --spark-master}: the items of an eval or a study made on Apache Spark ({@link SparkEval}). */
final class SparkOptions {
    @Option(names = "--spark-master", paramLabel = "URL",
        description = "make the items on Apache Spark: local[N] in this process, or a cluster's master URL (under spark-submit, its own)")
    String master;

    /** Asked for by the flag, or running under spark-submit, which passes the master as a system property. */
    boolean requested() { return master != null || System.getProperty("spark.master") != null; }

    /** Spark's classes must be loadable: ./stitch adds them for the flag, spark-submit always has them. */
    void requireSpark() {
        if (!SparkEval.available())
            throw new UserError("--spark-master " + master + ": Apache Spark is not on the class path (run through ./stitch,"
                + " which adds it once built, or submit stitch.jar with spark-submit)");
    }
}
