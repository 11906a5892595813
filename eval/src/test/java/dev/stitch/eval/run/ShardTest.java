package dev.stitch.eval.run;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@code --shard auto}: k and n from a Slurm job array or a Kubernetes Indexed Job, anything ambiguous refused. */
class ShardTest {
    static Shard auto(Map<String, String> env) { return Shard.auto(env::get); }

    static Map<String, String> slurm(int id, int min, int max, int count) {
        return Map.of("SLURM_ARRAY_TASK_ID", "" + id, "SLURM_ARRAY_TASK_MIN", "" + min, "SLURM_ARRAY_TASK_MAX", "" + max,
            "SLURM_ARRAY_TASK_COUNT", "" + count, "SLURM_ARRAY_JOB_ID", "4242");
    }

    static void refused(Map<String, String> env, String... mentions) {
        SettingError e = assertThrows(SettingError.class, () -> auto(env));
        assertEquals(1, e.getMessage().lines().count());
        assertEquals("shard", e.parameter());
        assertEquals("auto", e.value());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), m + ": " + e.getMessage());
    }

    @Test
    void slurmArrays() {
        assertEquals(new Shard(3, 8), auto(slurm(3, 0, 7, 8)));
        assertEquals(new Shard(0, 8), auto(slurm(1, 1, 8, 8)), "an array from 1 counts from its minimum");
        java.util.HashMap<String, String> stepOne = new java.util.HashMap<>(slurm(5, 0, 7, 8));
        stepOne.put("SLURM_ARRAY_TASK_STEP", "1");
        assertEquals(new Shard(5, 8), auto(stepOne));
    }

    @Test
    void kubernetesIndexedJobs() {
        assertEquals(new Shard(2, 8), auto(Map.of("JOB_COMPLETION_INDEX", "2", "STITCH_SHARD_COUNT", "8")));
        assertEquals(new Shard(0, 1), auto(Map.of("JOB_COMPLETION_INDEX", "0", "STITCH_SHARD_COUNT", " 1 ")));
    }

    @Test
    void anythingAmbiguousIsRefused() {
        refused(Map.of(), "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "explicit k/n");
        java.util.HashMap<String, String> both = new java.util.HashMap<>(slurm(0, 0, 7, 8));
        both.put("JOB_COMPLETION_INDEX", "0");
        refused(both, "both");
        java.util.HashMap<String, String> stepped = new java.util.HashMap<>(slurm(2, 0, 14, 8));
        stepped.put("SLURM_ARRAY_TASK_STEP", "2");
        refused(stepped, "SLURM_ARRAY_TASK_STEP");
        refused(slurm(3, 1, 7, 3), "not a plain range");          // --array=1,3,7
        refused(Map.of("SLURM_ARRAY_TASK_ID", "3"), "SLURM_ARRAY_TASK_MIN");
        refused(Map.of("JOB_COMPLETION_INDEX", "2"), "STITCH_SHARD_COUNT");
        refused(Map.of("JOB_COMPLETION_INDEX", "two", "STITCH_SHARD_COUNT", "8"), "JOB_COMPLETION_INDEX=two");
        refused(Map.of("JOB_COMPLETION_INDEX", "8", "STITCH_SHARD_COUNT", "8"), "8 of 8");
        refused(Map.of("JOB_COMPLETION_INDEX", "0", "STITCH_SHARD_COUNT", "0"), "0 of 0");
        refused(Map.of("JOB_COMPLETION_INDEX", "0", "STITCH_SHARD_COUNT", "99999999999"), "of 99999999999");
    }
}
