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
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class RunFolderTest {
    static ObjectNode request(int n) {
        ObjectNode r = Jsonl.JSON.createObjectNode().put("model", "sd2-base").put("n", n).put("seed", 4290749014L);
        r.putArray("metrics").add("clip").add("judge");
        return r;
    }

    static List<String> items(int n) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add("p" + i);
        return l;
    }

    static EvalRunner.Task<String> squareTask(AtomicInteger calls) {
        return (i, v, images) -> {
            calls.incrementAndGet();
            return Jsonl.JSON.createObjectNode().put("value", i * i).put("text", v);
        };
    }

    @Test
    void shardsDealItemsRoundRobin() {
        Shard s = Shard.parse(" 1/3 ");
        assertEquals(new Shard(1, 3), s);
        assertEquals("1/3", s.toString());
        assertTrue(s.contains(1) && s.contains(4) && !s.contains(0) && !s.contains(5));
        int total = 0;
        for (int k = 0; k < 3; k++) total += new Shard(k, 3).size(10);
        assertEquals(10, total);
        assertEquals(4, new Shard(0, 3).size(10));
        assertEquals(3, new Shard(2, 3).size(10));
        assertEquals(0, new Shard(5, 8).size(3));
        for (String bad : new String[] {"3/3", "-1/2", "1", "a/b", "1/0", "1/2/3"})
            assertThrows(UserError.class, () -> Shard.parse(bad), bad);
        assertEquals(Path.of("out", "shard-1-of-3"), s.folder(Path.of("out")));
        assertEquals(Path.of("out"), Shard.ALL.folder(Path.of("out")));
    }

    @Test
    void runJsonIsWrittenOnceAndMustMatchOnResume(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        RunFolder f = RunFolder.create(dir, request(5), Shard.ALL, 5);
        assertTrue(Files.isDirectory(f.images()));
        assertEquals("0/1", Jsonl.JSON.readTree(Files.readString(dir.resolve("run.json"))).path("shard").asText());
        assertEquals(5, f.itemCount());
        assertEquals(request(5).toString(), f.request().toString());
        RunFolder.create(dir, request(5), Shard.ALL, 5); // same request: resume
        ObjectNode other = request(5).put("model", "sd21");
        UserError e = assertThrows(UserError.class, () -> RunFolder.create(dir, other, Shard.ALL, 5));
        assertTrue(e.getMessage().contains("model: \"sd2-base\" vs \"sd21\""), e.getMessage());
        e = assertThrows(UserError.class, () -> RunFolder.create(dir, request(5), new Shard(0, 2), 5));
        assertTrue(e.getMessage().contains("shard: \"0/1\" vs \"0/2\""), e.getMessage());
        ObjectNode extra = request(5);
        ((com.fasterxml.jackson.databind.node.ArrayNode) extra.get("metrics")).add("fid");
        e = assertThrows(UserError.class, () -> RunFolder.create(dir, extra, Shard.ALL, 5));
        assertTrue(e.getMessage().contains("metrics"), e.getMessage());
        assertThrows(UserError.class, () -> RunFolder.open(tmp));
        assertEquals(f.spec(), RunFolder.open(dir).spec());
    }

    @Test
    void scoresFileDropsACutLastLineAndRefusesDamage(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("scores.jsonl");
        try (ScoresFile s = ScoresFile.open(f)) {
            s.append(Jsonl.JSON.createObjectNode().put("item", 0).put("x", "a\nb")); // escaped, still one line
            s.append(Jsonl.JSON.createObjectNode().put("item", 2));
            assertThrows(IllegalStateException.class, () -> s.append(Jsonl.JSON.createObjectNode().put("item", 2)));
        }
        String good = Files.readString(f);
        assertEquals(2, good.lines().count());
        Files.writeString(f, good + "{\"item\": 3, \"x\": \"cut he");
        ScoresFile.Contents c = ScoresFile.read(f);
        assertEquals(2, c.lines().size());
        assertTrue(c.partialBytes() > 0);
        try (ScoresFile s = ScoresFile.open(f)) {
            assertEquals(good, Files.readString(f), "truncated to the last complete line");
            assertTrue(s.isDone(0) && s.isDone(2) && !s.isDone(3));
            s.append(Jsonl.JSON.createObjectNode().put("item", 3));
        }
        assertEquals(3, ScoresFile.read(f).lines().size());

        Files.writeString(f, good + "{\"item\": 0}\n");
        UserError e = assertThrows(UserError.class, () -> ScoresFile.read(f));
        assertEquals(f + ":3: item 0 is already scored on an earlier line", e.getMessage());
        Files.writeString(f, "{\"item\": 0}\n{not json}\n{\"item\": 1}\n");
        e = assertThrows(UserError.class, () -> ScoresFile.open(f));
        assertTrue(e.getMessage().startsWith(f + ":2: not valid JSON"), e.getMessage());
        Files.writeString(f, "{\"value\": 1}\n");
        assertThrows(UserError.class, () -> ScoresFile.read(f));
    }

    @Test
    void runnerSkipsFinishedItemsAndReportsProgress(@TempDir Path tmp) {
        Path dir = tmp.resolve("run");
        AtomicInteger calls = new AtomicInteger();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        EvalRunner runner = new EvalRunner(1, new PrintStream(err, true, StandardCharsets.UTF_8), Duration.ZERO);
        RunFolder f = RunFolder.create(dir, request(7), Shard.ALL, 7);
        // a first run that fails at item 4: items 0..3 are kept
        EvalRunner.Task<String> failing = (i, v, images) -> {
            if (i == 4) throw new IllegalStateException("boom at 4");
            return squareTask(calls).run(i, v, images);
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> runner.run(f, items(7), failing));
        assertEquals("boom at 4", e.getMessage());
        assertEquals(4, calls.get());
        EvalRunner.Summary s = runner.run(f, items(7), squareTask(calls));
        assertEquals(new EvalRunner.Summary(7, 4, 3, s.elapsed()), s);
        assertEquals(7, calls.get());
        EvalRunner.Summary again = runner.run(f, items(7), squareTask(calls));
        assertEquals(0, again.done());
        assertEquals(7, calls.get(), "nothing left to do");
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("eval: 7 items in this shard, 4 done earlier, 3 to do"), log);
        assertTrue(log.contains("eval: 5/7 done (4 earlier) · "), log);
        assertTrue(log.contains(" items/s · ETA "), log);
        assertTrue(log.contains("eval: 7/7 done (4 earlier) · "), log);
        assertTrue(log.contains("took 0:0"), log);
        List<ObjectNode> lines = ScoresFile.read(f.scoresFile()).lines().values().stream().toList();
        for (int i = 0; i < 7; i++) {
            assertEquals(i, lines.get(i).get("item").asInt());
            assertEquals(i * i, lines.get(i).get("value").asInt());
        }
        UserError ue = assertThrows(UserError.class, () -> runner.run(f, items(8), squareTask(calls)));
        assertTrue(ue.getMessage().contains("made for 7 items, now given 8"), ue.getMessage());
    }

    @Test
    void parallelRunnerWritesEachItemOnce(@TempDir Path tmp) {
        RunFolder f = RunFolder.create(tmp.resolve("run"), request(40), new Shard(1, 2), 40);
        List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
        EvalRunner runner = new EvalRunner(4, new PrintStream(new ByteArrayOutputStream()), Duration.ofSeconds(1));
        EvalRunner.Summary s = runner.run(f, items(40), (i, v, images) -> {
            seen.add(i);
            Thread.sleep(2);
            return Jsonl.JSON.createObjectNode().put("v", v);
        });
        assertEquals(20, s.inShard());
        assertEquals(20, s.done());
        assertEquals(20, seen.size());
        assertTrue(seen.stream().allMatch(i -> i % 2 == 1));
        assertEquals(20, ScoresFile.read(f.scoresFile()).lines().size());
    }

    @Test
    void clockFormat() {
        assertEquals("0:07", EvalRunner.Progress.clock(7.2));
        assertEquals("2:05", EvalRunner.Progress.clock(125));
        assertEquals("1:01:01", EvalRunner.Progress.clock(3661));
    }
}
