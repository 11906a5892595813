package dev.stitch.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.EvalRunner;
import dev.stitch.eval.run.ItemRunner;
import dev.stitch.eval.run.ItemWorker;
import dev.stitch.eval.run.RunFolder;
import dev.stitch.eval.run.ScoresFile;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.UserError;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * Makes the items of a run on a Spark cluster: an {@link ItemRunner} for {@code stitch eval} and {@code stitch study}.
 * The run is the same as in one process: the same run folder, items, images, scores.jsonl, summary.json and
 * report.html, written by the same code.
 * <ul>
 *   <li>The driver checks the settings, locks and creates (or resumes) the run folder and lists the items of its shard
 *       not yet in scores.jsonl. Those become Spark tasks of a few items each.
 *   <li>Each executor makes its worker for the run once, from the same {@link Workers} (the model loaded once per
 *       executor JVM and reused by every task there), makes its items' images in the run folder (same item, same file
 *       name: a retried task rewrites them) and returns the items' lines.
 *   <li>The driver appends each finished task's lines to scores.jsonl as the task finishes, so a killed run resumes
 *       where it stopped. A failed task is retried by Spark ({@code spark.task.maxFailures}); its lines reach the
 *       driver only once, from the attempt that succeeded, so nothing is recorded twice.
 *   <li>FID/KID, the summary and the report are made by the driver at the end, from the run folder.
 * </ul>
 * The run folder must be one file system for the driver and every executor (NFS, Lustre, a mounted bucket).
 */
public final class SparkItemRunner {
    private SparkItemRunner() {}

    /**
     * Makes, in an executor's JVM, the worker for the run folder {@code runDir}; {@code auditFile} names a file of the
     * run folder for the worker's own judge log. It must capture only serializable values (the command's arguments,
     * say), since Spark ships it to the executors.
     */
    @FunctionalInterface
    public interface Workers extends Serializable {
        ItemWorker create(Path runDir, String auditFile);
    }

    private static final String JOB_GROUP = "stitch-items";

    /** Items per Spark task: at most this many, fewer so that every executor slot gets several tasks. */
    static final int MAX_ITEMS_PER_TASK = 8;

    /**
     * One worker per run folder and executor JVM: the model is loaded once and shared by the tasks there. A new run
     * of the same folder (a new token) replaces it: the settings may differ, and a local-mode JVM outlives runs.
     */
    private record Cached(String token, ItemWorker worker) {}

    private static final Map<String, Cached> WORKERS = new ConcurrentHashMap<>();

    /** The runner: items on {@code sc}'s executors, each making its workers with {@code workers}. */
    public static ItemRunner of(JavaSparkContext sc, Workers workers, PrintStream log) {
        return (run, itemCount, here) -> runItems(sc, workers, run, itemCount, log);
    }

    private static EvalRunner.Summary runItems(JavaSparkContext sc, Workers workers, RunFolder run, int itemCount, PrintStream log) {
        Shard shard = run.shard();
        String dir = run.dir().toAbsolutePath().toString(), token = UUID.randomUUID().toString();
        try (ScoresFile scores = run.openScores()) {
            List<Integer> todo = new ArrayList<>();
            int inShard = 0;
            for (int i = 0; i < itemCount; i++) {
                if (!shard.contains(i)) continue;
                inShard++;
                if (!scores.isDone(i)) todo.add(i);
            }
            EvalRunner.Progress progress = new EvalRunner.Progress(inShard, inShard - todo.size(), log, Duration.ofSeconds(5));
            progress.start();
            int slots = Math.max(1, sc.defaultParallelism());
            int perTask = Math.clamp((todo.size() + 4L * slots - 1) / (4L * slots), 1, MAX_ITEMS_PER_TASK);
            // one small job per task, all submitted at once: the scheduler runs them side by side, and the driver
            // records each one's lines as soon as it is done (one job of many partitions would give them all at the end)
            Deque<JavaFutureAction<List<String>>> jobs = new ArrayDeque<>();
            sc.setJobGroup(JOB_GROUP, "stitch items into " + dir, true);
            try {
                for (int from = 0; from < todo.size(); from += perTask) {
                    List<Integer> chunk = List.copyOf(todo.subList(from, Math.min(todo.size(), from + perTask)));
                    jobs.add(sc.parallelize(chunk, 1).mapPartitions(items -> work(workers, dir, token, items)).collectAsync());
                }
                while (!jobs.isEmpty()) {
                    JavaFutureAction<List<String>> job = jobs.poll();
                    for (String text : job.get()) {
                        scores.append((ObjectNode) Jsonl.JSON.readTree(text));
                        progress.itemDone();
                    }
                }
            } catch (ExecutionException e) {
                sc.cancelJobGroup(JOB_GROUP);
                // keep what other tasks finished meanwhile, so the rerun redoes only the rest
                for (JavaFutureAction<List<String>> job : jobs) {
                    if (!job.isDone() || job.isCancelled()) continue;
                    try {
                        for (String text : job.get()) scores.append((ObjectNode) Jsonl.JSON.readTree(text));
                    } catch (ExecutionException | IOException | RuntimeException skipped) {
                        // that task failed or was cancelled too: its items are redone on the rerun
                    } catch (InterruptedException stop) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                throw new UserError("spark: an item failed on every attempt (" + rootMessage(e) + "); the finished items are kept:"
                    + " rerun the same command to resume");
            } catch (InterruptedException e) {
                sc.cancelJobGroup(JOB_GROUP);
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                sc.clearJobGroup();
            }
            progress.end();
            return new EvalRunner.Summary(inShard, inShard - todo.size(), todo.size(), progress.elapsed());
        }
    }

    /** On an executor: this JVM's worker for the run makes each item; the lines go back to the driver. */
    private static Iterator<String> work(Workers workers, String dir, String token, Iterator<Integer> items) {
        // the GPU Spark assigned to this executor's tasks is the one the CUDA backend opens (once per JVM)
        String gpu = taskGpu();
        if (gpu != null && System.getProperty(CUDA_DEVICE) == null) System.setProperty(CUDA_DEVICE, gpu);
        ItemWorker worker = WORKERS.compute(dir, (d, old) -> {
            if (old != null && old.token().equals(token)) return old;
            if (old != null) old.worker().close();
            return new Cached(token, workers.create(Path.of(d), auditFile()));
        }).worker();
        List<String> lines = new ArrayList<>();
        synchronized (worker) {   // one item at a time per executor: a worker holds one set of taps and one judge client
            while (items.hasNext()) {
                int i = items.next();
                lines.add(EvalRunner.line(i, worker.item(i)).toString());
            }
        }
        return lines.iterator();
    }

    /** Each executor keeps its own judge audit log: appends from several processes to one file could interleave. */
    private static String auditFile() {
        SparkEnv env = SparkEnv.get();
        String id = env == null ? "driver" : env.executorId();
        return "judge-audit-executor-" + id.replaceAll("[^A-Za-z0-9_.-]", "_") + ".jsonl";
    }

    /** The system property the CUDA backend reads for its device ordinal. */
    static final String CUDA_DEVICE = "stitch.cuda.device";

    /**
     * The address of the GPU Spark gave the running task ({@code spark.task.resource.gpu.amount}, found by the
     * executor's discovery script); null outside a task or when the task was given none.
     */
    static String taskGpu() {
        TaskContext task = TaskContext.get();
        if (task == null) return null;
        ResourceInformation gpu = task.resources().get("gpu").getOrElse(() -> null);
        return gpu == null || gpu.addresses().length == 0 ? null : gpu.addresses()[0];
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }
}
