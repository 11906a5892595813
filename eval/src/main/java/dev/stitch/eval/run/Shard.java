package dev.stitch.eval.run;


import java.nio.file.Path;
import java.util.function.Function;

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
            throw new SettingError("shard", index + "/" + count, "expected k/n with 0 <= k < n");
    }

    /** Parses {@code "k/n"}. */
    public static Shard parse(String s) {
        String[] p = s.strip().split("/", -1);
        try {
            if (p.length == 2) return new Shard(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new SettingError("shard", s, "expected k/n with 0 <= k < n, e.g. 0/8, or auto");
    }

    /**
     * The shard the job scheduler gives this task ({@code --shard auto}): a Slurm job array's task, k =
     * {@code SLURM_ARRAY_TASK_ID} − {@code SLURM_ARRAY_TASK_MIN} of n = {@code SLURM_ARRAY_TASK_COUNT} (the array must
     * be a plain range, step 1); or a Kubernetes Indexed Job's completion, k = {@code JOB_COMPLETION_INDEX} of n =
     * {@code STITCH_SHARD_COUNT} (Kubernetes does not tell a pod the number of completions). Anything ambiguous — both
     * schedulers' variables, a partial set, a stepped or gapped array, a number that does not parse — is refused,
     * naming the variable: a wrong guess would silently skip or repeat work.
     */
    public static Shard auto(Function<String, String> env) {
        String slurmId = env.apply("SLURM_ARRAY_TASK_ID"), k8sIndex = env.apply("JOB_COMPLETION_INDEX");
        if (slurmId != null && k8sIndex != null)
            throw auto("both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; give an explicit k/n");
        if (slurmId != null) {
            long id = number(env, "SLURM_ARRAY_TASK_ID"), min = number(env, "SLURM_ARRAY_TASK_MIN");
            long max = number(env, "SLURM_ARRAY_TASK_MAX"), count = number(env, "SLURM_ARRAY_TASK_COUNT");
            String step = env.apply("SLURM_ARRAY_TASK_STEP");
            if (step != null && !step.strip().equals("1"))
                throw auto("the job array steps by " + step.strip() + " (SLURM_ARRAY_TASK_STEP); use --array=0-" + (count - 1)
                    + " or give an explicit k/n");
            if (max - min + 1 != count)
                throw auto("the job array " + min + "-" + max + " has " + count + " tasks (SLURM_ARRAY_TASK_COUNT),"
                    + " not a plain range; use --array=0-" + (count - 1) + " or give an explicit k/n");
            return checked(id - min, count, "SLURM_ARRAY_TASK_ID " + id + " − SLURM_ARRAY_TASK_MIN " + min);
        }
        if (k8sIndex != null) {
            if (env.apply("STITCH_SHARD_COUNT") == null)
                throw auto("JOB_COMPLETION_INDEX is set but STITCH_SHARD_COUNT is not; set it to the Job's completions");
            return checked(number(env, "JOB_COMPLETION_INDEX"), number(env, "STITCH_SHARD_COUNT"), "JOB_COMPLETION_INDEX");
        }
        throw auto("neither a Slurm job array (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) in the"
            + " environment; give an explicit k/n");
    }

    private static long number(Function<String, String> env, String name) {
        String v = env.apply(name);
        if (v == null) throw auto(name + " is not set");
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw auto(name + "=" + v + " is not a whole number");
        }
    }

    private static Shard checked(long k, long n, String from) {
        if (n < 1 || n > Integer.MAX_VALUE || k < 0 || k >= n)
            throw auto("shard " + k + " of " + n + " (from " + from + ") is not 0 <= k < n");
        return new Shard((int) k, (int) n);
    }

    private static SettingError auto(String problem) { return new SettingError("shard", "auto", problem); }

    public boolean contains(int item) { return item % count == index; }

    /** How many of {@code total} items are in this shard. */
    public int size(int total) { return total <= index ? 0 : (total - index + count - 1) / count; }

    /** Where this shard's run folder goes inside the evaluation folder {@code out}: {@code shard-k-of-n}. */
    public Path folder(Path out) { return count == 1 ? out : out.resolve("shard-" + index + "-of-" + count); }

    @Override
    public String toString() { return index + "/" + count; }
}
