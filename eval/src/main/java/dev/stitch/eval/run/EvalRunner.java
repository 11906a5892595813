package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs a per-item task over the items of a run folder's shard, skipping items already in scores.jsonl and
 * appending one line per finished item, so a killed run resumes where it stopped. What a task does (generate,
 * score, ask a judge) is plugged in by the caller; it returns the item's scores as a JSON object, to which the
 * runner adds {@code "item"} (the index in the full item list). A progress line (done/total, rate, ETA) goes to
 * the log stream.
 */
public final class EvalRunner {
    /** One item's work: write images under {@code images}, return the item's scores. */
    @FunctionalInterface
    public interface Task<T> {
        ObjectNode run(int item, T value, Path images) throws Exception;
    }

    /** What a call did: items in the shard, found done already, done now, and how long it took. */
    public record Summary(int inShard, int skipped, int done, Duration elapsed) {}

    private final int threads;
    private final PrintStream log;
    private final Duration progressEvery;

    /**
     * @param threads       items worked on at once (1 for a GPU generating images one batch at a time)
     * @param log           where progress lines go (stderr in the CLI)
     * @param progressEvery the least time between two progress lines (the last line is always printed)
     */
    public EvalRunner(int threads, PrintStream log, Duration progressEvery) {
        if (threads < 1) throw new IllegalArgumentException("threads " + threads);
        this.threads = threads;
        this.log = log;
        this.progressEvery = progressEvery;
    }

    public static EvalRunner sequential() { return new EvalRunner(1, System.err, Duration.ofSeconds(5)); }

    /**
     * Runs {@code task} on every item of {@code run}'s shard not yet scored. {@code items} is the full list, the
     * same one (same order) the run was created with. The first task failure stops the run (items already finished
     * stay recorded) and is rethrown.
     */
    public <T> Summary run(RunFolder run, List<T> items, Task<T> task) {
        if (items.size() != run.itemCount())
            throw new UserError(run.dir() + ": the run was made for " + run.itemCount() + " items, now given "
                + items.size() + " (did the prompt file or the images per prompt change?)");
        Shard shard = run.shard();
        try (ScoresFile scores = run.openScores()) {
            List<Integer> todo = new ArrayList<>();
            int inShard = 0;
            for (int i = 0; i < items.size(); i++) {
                if (!shard.contains(i)) continue;
                inShard++;
                if (!scores.isDone(i)) todo.add(i);
            }
            for (ObjectNode line : scores.lines())
                if (!shard.contains(line.get("item").intValue()) || line.get("item").intValue() >= items.size())
                    throw new UserError(scores.file() + ": item " + line.get("item") + " does not belong to shard " + shard);
            Progress progress = new Progress(inShard, inShard - todo.size(), log, progressEvery);
            progress.start();
            if (threads == 1 || todo.size() <= 1) {
                for (int i : todo) finish(scores, i, items.get(i), task, run.images(), progress);
            } else {
                AtomicBoolean failed = new AtomicBoolean();
                List<Future<?>> fs = new ArrayList<>();
                try (ExecutorService ex = Executors.newFixedThreadPool(threads)) {
                    for (int i : todo)
                        fs.add(ex.submit(() -> {
                            if (failed.get()) return null; // stop starting new items after a failure
                            try {
                                finish(scores, i, items.get(i), task, run.images(), progress);
                            } catch (Exception | Error e) {
                                failed.set(true);
                                throw e;
                            }
                            return null;
                        }));
                }
                for (Future<?> f : fs) {
                    try {
                        f.get();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof RuntimeException r) throw r;
                        if (e.getCause() instanceof Error err) throw err;
                        throw new IllegalStateException(e.getCause());
                    }
                }
            }
            progress.end();
            return new Summary(inShard, inShard - todo.size(), todo.size(), progress.elapsed());
        }
    }

    private static <T> void finish(ScoresFile scores, int i, T value, Task<T> task, Path images, Progress progress) {
        ObjectNode result;
        try {
            result = task.run(i, value, images);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("item " + i + ": " + e.getMessage(), e);
        }
        ObjectNode line = line(i, result);
        scores.append(line);
        progress.itemDone();
    }

    /** The line scores.jsonl keeps for item {@code i}: {@code "item"} first, then what the task returned. */
    public static ObjectNode line(int i, ObjectNode result) {
        ObjectNode line = Jsonl.JSON.createObjectNode();
        line.put("item", i);
        if (result != null) {
            JsonNode own = result.get("item");
            if (own != null && !(own.canConvertToInt() && own.intValue() == i))
                throw new IllegalStateException("item " + i + ": the task returned \"item\": " + own);
            result.properties().forEach(e -> {
                if (!e.getKey().equals("item")) line.set(e.getKey(), e.getValue());
            });
        }
        return line;
    }

    /** The progress line: "eval: 37/120 done (12 earlier) · 0.84 items/s · ETA 1:39". */
    public static final class Progress {
        private final int total, skipped;
        private final PrintStream log;
        private final long everyNanos;
        private long startNanos, lastPrint;
        private int doneNow;

        public Progress(int total, int skipped, PrintStream log, Duration every) {
            this.total = total;
            this.skipped = skipped;
            this.log = log;
            this.everyNanos = every.toNanos();
        }

        public synchronized void start() {
            startNanos = lastPrint = System.nanoTime();
            log.println("eval: " + total + " items in this shard, " + skipped + " done earlier, " + (total - skipped) + " to do");
        }

        public synchronized void itemDone() {
            doneNow++;
            long now = System.nanoTime();
            if (now - lastPrint >= everyNanos && doneNow < total - skipped) {
                lastPrint = now;
                log.println(line(now));
            }
        }

        public synchronized void end() { log.println(line(System.nanoTime())); }

        public synchronized Duration elapsed() { return Duration.ofNanos(System.nanoTime() - startNanos); }

        String line(long now) {
            double secs = (now - startNanos) / 1e9;
            double rate = secs > 0 ? doneNow / secs : 0;
            int left = total - skipped - doneNow;
            String s = "eval: " + (skipped + doneNow) + "/" + total + " done";
            if (skipped > 0) s += " (" + skipped + " earlier)";
            s += String.format(java.util.Locale.ROOT, " · %.2f items/s", rate);
            if (left > 0) s += " · ETA " + (rate > 0 ? clock(left / rate) : "?");
            else s += " · took " + clock(secs);
            return s;
        }

        static String clock(double seconds) {
            long s = Math.round(seconds);
            return s >= 3600 ? String.format(java.util.Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(java.util.Locale.ROOT, "%d:%02d", s / 60, s % 60);
        }
    }
}
