package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RunMergeTest {
    private static final EvalRunner QUIET = new EvalRunner(1, new PrintStream(new ByteArrayOutputStream()), Duration.ofHours(1));

    /** Runs shard k/n of a 10-item evaluation under {@code out}, optionally stopping after {@code limit} items. */
    private static Path runShard(Path out, ObjectNode request, int k, int n, int limit) {
        Shard s = new Shard(k, n);
        RunFolder f = RunFolder.create(s.folder(out), request, s, 10);
        int[] count = {0};
        try {
            QUIET.run(f, RunFolderTest.items(10), (i, v, images) -> {
                if (count[0]++ == limit) throw new IllegalStateException("stop");
                Files.writeString(images.resolve(i + ".png"), "image " + i);
                return Jsonl.JSON.createObjectNode().put("score", i / 10.0);
            });
        } catch (IllegalStateException e) {
            assertEquals("stop", e.getMessage());
        }
        return f.dir();
    }

    @Test
    void mergesShardsIntoOneRun(@TempDir Path out) throws Exception {
        ObjectNode req = RunFolderTest.request(10);
        for (int k = 0; k < 3; k++) runShard(out, req, k, 3, 99);
        List<Path> shards = RunMerge.shardFolders(out);
        assertEquals(3, shards.size());
        RunMerge.Result r = RunMerge.merge(out, shards);
        assertTrue(r.complete());
        assertEquals(10, r.items());
        RunFolder merged = RunFolder.open(out);
        assertEquals(Shard.ALL, merged.shard());
        assertEquals(req.toString(), merged.request().toString());
        List<String> lines = Files.readAllLines(merged.scoresFile());
        assertEquals(10, lines.size());
        for (int i = 0; i < 10; i++) {
            ObjectNode o = (ObjectNode) Jsonl.JSON.readTree(lines.get(i));
            assertEquals(i, o.get("item").asInt(), "sorted by item");
            assertEquals(i / 10.0, o.get("score").asDouble());
            assertEquals("image " + i, Files.readString(merged.images().resolve(i + ".png")));
        }
        // merging again is harmless
        assertTrue(RunMerge.merge(out, shards).complete());
        assertEquals(lines, Files.readAllLines(merged.scoresFile()));
    }

    @Test
    void incompleteShardsAreReported(@TempDir Path out) throws Exception {
        ObjectNode req = RunFolderTest.request(10);
        runShard(out, req, 0, 2, 99);
        Path half = runShard(out, req, 1, 2, 2); // items 1 and 3 done, 5, 7, 9 not
        Files.writeString(half.resolve("scores.jsonl"), "{\"item\": 5, \"sc", StandardOpenOption.APPEND);
        RunMerge.Result r = RunMerge.merge(out, RunMerge.shardFolders(out));
        assertEquals(List.of(5, 7, 9), r.missing());
        assertEquals(7, r.items());
        assertEquals(1, r.partialLinesIgnored());
        assertTrue(Files.readString(half.resolve("scores.jsonl")).endsWith("\"sc"), "shards are read, not changed");
    }

    @Test
    void refusesDuplicatesAndMismatchedRuns(@TempDir Path tmp) throws Exception {
        ObjectNode req = RunFolderTest.request(10);
        Path out = tmp.resolve("a");
        Path s0 = runShard(out, req, 0, 2, 99), s1 = runShard(out, req, 1, 2, 99);
        // an item appearing in the wrong shard
        Path s1scores = s1.resolve("scores.jsonl");
        String original = Files.readString(s1scores);
        Files.writeString(s1scores, "{\"item\": 0, \"score\": 0.0}\n", StandardOpenOption.APPEND);
        UserError e = assertThrows(UserError.class, () -> RunMerge.merge(out, List.of(s0, s1)));
        assertTrue(e.getMessage().contains("item 0 does not belong to shard 1/2"), e.getMessage());
        Files.writeString(s1scores, original);
        // the same shard twice
        e = assertThrows(UserError.class, () -> RunMerge.merge(out, List.of(s0, s0)));
        assertTrue(e.getMessage().contains("shard 0/2 appears twice"), e.getMessage());
        // shards of another request
        Path other = tmp.resolve("b");
        Path o1 = runShard(other, RunFolderTest.request(10).put("model", "sd21"), 1, 2, 99);
        e = assertThrows(UserError.class, () -> RunMerge.merge(out, List.of(s0, o1)));
        assertTrue(e.getMessage().contains("shards of different runs (model: \"sd2-base\" vs \"sd21\")"), e.getMessage());
        // shards of a different split
        Path t1 = runShard(tmp.resolve("c"), req, 1, 3, 99);
        e = assertThrows(UserError.class, () -> RunMerge.merge(out, List.of(s0, t1)));
        assertTrue(e.getMessage().contains("is shard 1/3"), e.getMessage());
        // two different images under one name
        Files.writeString(s1.resolve("images").resolve("0.png"), "not the same");
        e = assertThrows(UserError.class, () -> RunMerge.merge(out, List.of(s0, s1)));
        assertTrue(e.getMessage().contains("images/0.png differs"), e.getMessage());
        Files.delete(s1.resolve("images").resolve("0.png"));
        // a target with other scores
        Path target = tmp.resolve("d");
        RunFolder t = RunFolder.create(target, req, Shard.ALL, 10);
        Files.writeString(t.scoresFile(), "{\"item\": 3, \"score\": 99}\n", StandardCharsets.UTF_8);
        e = assertThrows(UserError.class, () -> RunMerge.merge(target, List.of(s0, s1)));
        assertTrue(e.getMessage().contains("already scores item 3 differently"), e.getMessage());
        assertTrue(RunMerge.merge(out, new ArrayList<>(List.of(s0, s1))).complete());
    }
}
