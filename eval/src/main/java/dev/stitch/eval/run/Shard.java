package dev.stitch.eval.run;

import dev.stitch.kernels.UserError;

import java.nio.file.Path;

/**
 * One of {@code count} deterministic slices of an evaluation ({@code --shard k/n}, k from 0 to n−1, matching the
 * 0-based task indices of Slurm job arrays and Kubernetes indexed Jobs). Item i belongs to shard i mod n: a
 * round-robin deal, so every shard gets a similar mix of prompts and categories and finishes at about the same
 * time, whatever order the prompt file has.
 */
public record Shard(int index, int count) {
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count)
            throw new UserError("shard " + index + "/" + count + ": expected k/n with 0 <= k < n");
    }

    /** Parses {@code "k/n"}. */
    public static Shard parse(String s) {
        String[] p = s.strip().split("/", -1);
        try {
            if (p.length == 2) return new Shard(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UserError("--shard '" + s + "': expected k/n with 0 <= k < n, e.g. 0/8");
    }

    public boolean contains(int item) { return item % count == index; }

    /** How many of {@code total} items are in this shard. */
    public int size(int total) { return total <= index ? 0 : (total - index + count - 1) / count; }

    /** Where this shard's run folder goes inside the evaluation folder {@code out}: {@code shard-k-of-n}. */
    public Path folder(Path out) { return count == 1 ? out : out.resolve("shard-" + index + "-of-" + count); }

    @Override
    public String toString() { return index + "/" + count; }
}
