package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A child process for {@link KilledRunTest}: runs {@code n} items that each take {@code delayMs}, writing one small
 * "image" and a score per item. Arguments: RUN_DIR N DELAY_MS [SHARD].
 */
public final class SlowRunMain {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        long delay = Long.parseLong(args[2]);
        Shard shard = args.length > 3 ? Shard.parse(args[3]) : Shard.ALL;
        ObjectNode request = Jsonl.JSON.createObjectNode().put("kind", "slow-test").put("n", n);
        try (RunLock lock = RunLock.acquire(dir)) {   // one writer per folder, as an evaluation takes it
            RunFolder run = RunFolder.create(dir, request, shard, n);
            List<String> items = new ArrayList<>();
            for (int i = 0; i < n; i++) items.add("prompt " + i);
            new EvalRunner(1, System.err, Duration.ZERO).run(run, items, (i, prompt, images) -> {
                Thread.sleep(delay);
                RunFolder.writeAtomically(images.resolve(String.format("%06d.png", i)), prompt.getBytes(StandardCharsets.UTF_8));
                return Jsonl.JSON.createObjectNode().put("prompt", prompt).put("value", i * i).put("pid", ProcessHandle.current().pid());
            });
        } catch (dev.stitch.kernels.UserError e) {
            System.err.println("stitch: " + e.getMessage());
            System.exit(2);
        }
    }
}
