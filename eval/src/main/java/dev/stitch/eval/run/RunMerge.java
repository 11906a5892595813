package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Merges the run folders of an evaluation's shards into one run folder: one run.json (the shards' common
 * request, shard 0/1), every shard's images, and one scores.jsonl holding each item once, in item order. Shards of
 * different requests, two folders for the same shard, an item scored twice or scored by the wrong shard, and two
 * different images under one name are refused. Missing shards or unfinished items are allowed and reported
 * (a merge can show progress); an incomplete last line of a killed shard is ignored (and left in place).
 */
public final class RunMerge {
    private RunMerge() {}

    /** What a merge found. {@code missing} lists the items no shard has scored yet. */
    public record Result(int shards, int items, int itemCount, List<Integer> missing, int partialLinesIgnored) {
        public boolean complete() { return missing.isEmpty(); }
    }

    /** The shard folders ({@code shard-k-of-n}) inside {@code out}, sorted by name. */
    public static List<Path> shardFolders(Path out) {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.getFileName().toString().matches("shard-\\d+-of-\\d+") && Files.isDirectory(p)).sorted().toList();
        } catch (IOException e) {
            throw new UserError("cannot list " + out + " (" + e.getMessage() + ")");
        }
    }

    public static Result merge(Path out, List<Path> shardDirs) {
        if (shardDirs.isEmpty()) throw new UserError(out + ": no shard folders to merge");
        RunFolder first = RunFolder.open(shardDirs.getFirst());
        ObjectNode request = first.request();
        int n = first.shard().count();
        Map<Integer, Path> seenShard = new HashMap<>();
        Map<Integer, ObjectNode> merged = new TreeMap<>();
        Map<Integer, Path> from = new HashMap<>();
        int partial = 0;
        for (Path dir : shardDirs) {
            RunFolder f = RunFolder.open(dir);
            String diff = RunFolder.firstDifference(request, f.request(), "");
            if (diff != null)
                throw new UserError(dir + " and " + shardDirs.getFirst() + " are shards of different runs (" + diff + ")");
            Shard s = f.shard();
            if (f.itemCount() != first.itemCount())
                throw new UserError(dir + " has " + f.itemCount() + " items, " + shardDirs.getFirst() + " has " + first.itemCount());
            if (s.count() != n) throw new UserError(dir + " is shard " + s + ", " + shardDirs.getFirst() + " is shard " + first.shard());
            Path other = seenShard.put(s.index(), dir);
            if (other != null) throw new UserError("shard " + s + " appears twice: " + other + " and " + dir);
            ScoresFile.Contents c = ScoresFile.read(f.scoresFile());
            if (c.partialBytes() > 0) partial++;
            for (var e : c.lines().entrySet()) {
                int item = e.getKey();
                if (!s.contains(item) || item >= f.itemCount())
                    throw new UserError(f.scoresFile() + ": item " + item + " does not belong to shard " + s);
                Path prev = from.put(item, dir);
                if (prev != null) throw new UserError("item " + item + " is scored in both " + prev + " and " + dir);
                merged.put(item, e.getValue());
            }
        }
        try (RunLock lock = RunLock.acquire(out)) {
            return write(out, shardDirs, first, request, merged, partial);
        }
    }

    private static Result write(Path out, List<Path> shardDirs, RunFolder first, ObjectNode request, Map<Integer, ObjectNode> merged,
                                int partial) {
        RunFolder target = RunFolder.create(out, request, Shard.ALL, first.itemCount());
        ScoresFile.Contents existing = ScoresFile.read(target.scoresFile());
        for (var e : existing.lines().entrySet())
            if (!e.getValue().equals(merged.get(e.getKey())))
                throw new UserError(target.scoresFile() + " already scores item " + e.getKey()
                    + " differently from the shards; merge into an empty folder");
        for (Path dir : shardDirs) linkImages(dir.resolve(RunFolder.IMAGES), target.images());
        StringBuilder sb = new StringBuilder();
        for (ObjectNode line : merged.values()) sb.append(line).append('\n');
        RunFolder.writeAtomically(target.scoresFile(), sb.toString().getBytes(StandardCharsets.UTF_8));
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < first.itemCount(); i++) if (!merged.containsKey(i)) missing.add(i);
        return new Result(shardDirs.size(), merged.size(), first.itemCount(), List.copyOf(missing), partial);
    }

    /** Hard-links (or copies, across file systems) every file of {@code from} into {@code to}. */
    static void linkImages(Path from, Path to) {
        if (!Files.isDirectory(from)) return;
        try (Stream<Path> s = Files.list(from)) {
            for (Path src : s.filter(Files::isRegularFile).sorted().toList()) {
                String name = src.getFileName().toString();
                if (name.startsWith(".")) continue; // temporary files of an interrupted write
                Path dst = to.resolve(name);
                if (Files.exists(dst)) {
                    if (Files.isSameFile(src, dst) || Arrays.equals(Files.readAllBytes(src), Files.readAllBytes(dst))) continue;
                    throw new UserError("images/" + name + " differs between " + from.getParent() + " and " + to.getParent());
                }
                try {
                    Files.createLink(dst, src);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(src, dst);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot merge images from " + from, e);
        }
    }
}
