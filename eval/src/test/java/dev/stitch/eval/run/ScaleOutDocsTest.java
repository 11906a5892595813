package dev.stitch.eval.run;

import dev.stitch.convert.SimpleYaml;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The templates of {@code docs/scale-out.md} are read as a scheduler would: the sbatch script and the Kubernetes Job
 * give every shard once through {@code --shard auto}, and the merge reads the run folder the shards write.
 */
class ScaleOutDocsTest {
    static final Path PAGE = Path.of("../docs/scale-out.md");

    /** The fenced block whose first comment line names {@code file}. */
    static String block(String page, String file) {
        Matcher m = Pattern.compile("```[a-z]*\\n(.*?)```", Pattern.DOTALL).matcher(page);
        while (m.find()) {
            String body = m.group(1);
            if (body.lines().anyMatch(l -> l.startsWith("# " + file + ":"))) return body;
        }
        throw new AssertionError("docs/scale-out.md has no block for " + file);
    }

    /** The value of {@code flag} in a command line (space-separated, backslash continuations joined). */
    static String flag(String script, String flag) {
        Matcher m = Pattern.compile(Pattern.quote(flag) + "[ =](\\S+)").matcher(script.replace("\\\n", " "));
        assertTrue(m.find(), flag + " not in " + script);
        return m.group(1);
    }

    @Test
    void theSlurmArrayGivesEveryShardOnceAndTheMergeWaitsForIt(@TempDir Path tmp) throws Exception {
        String page = Files.readString(PAGE);
        String array = block(page, "eval-array.sbatch"), submit = block(page, "submit.sh");
        Matcher range = Pattern.compile("(?m)^#SBATCH --array=(\\d+)-(\\d+)$").matcher(array);
        assertTrue(range.find(), "a plain --array=a-b range");
        int min = Integer.parseInt(range.group(1)), max = Integer.parseInt(range.group(2));
        assertEquals("auto", flag(array, "--shard"));
        Set<Shard> seen = new HashSet<>();
        for (int id = min; id <= max; id++)
            seen.add(Shard.auto(ShardTest.slurm(id, min, max, max - min + 1)::get));
        assertEquals(max - min + 1, seen.size(), "every task its own shard");
        assertTrue(seen.stream().allMatch(s -> s.count() == max - min + 1));

        assertTrue(submit.contains("sbatch --parsable eval-array.sbatch"), submit);
        assertTrue(submit.contains("--dependency=afterok:\"${array}\""), "the merge waits for the whole array: " + submit);
        String merge = submit.substring(submit.indexOf("eval-merge"));
        assertTrue(merge.startsWith("eval-merge " + flag(array, "--out") + " "), "the merge reads the shards' run folder: " + merge);
        assertEquals(flag(array, "--inception"), flag(merge, "--inception"));
        assertEquals(flag(array, "--reference-images"), flag(merge, "--reference-images").replace("\"", ""));

        Path bash = Path.of("/bin/bash");
        if (Files.isExecutable(bash))
            for (String script : List.of(array, submit)) {
                Path f = Files.writeString(tmp.resolve("script.sh"), script);
                Process p = new ProcessBuilder(bash.toString(), "-n", f.toString()).redirectErrorStream(true).start();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), "bash -n: " + new String(p.getInputStream().readAllBytes()) + "\n" + script);
            }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theKubernetesIndexedJobGivesEveryShardOnce() throws IOException {
        Map<String, Object> job = SimpleYaml.parse(PAGE, block(Files.readString(PAGE), "eval-job.yaml"));
        assertEquals("batch/v1", job.get("apiVersion"));
        assertEquals("Job", job.get("kind"));
        assertEquals("Indexed", SimpleYaml.get(job, "spec.completionMode"));
        int completions = ((Number) SimpleYaml.get(job, "spec.completions")).intValue();
        assertEquals("Never", SimpleYaml.get(job, "spec.template.spec.restartPolicy"));
        List<Object> containers = (List<Object>) SimpleYaml.get(job, "spec.template.spec.containers");
        assertEquals(1, containers.size());
        Map<String, Object> c = (Map<String, Object>) containers.getFirst();
        List<String> command = new ArrayList<>();
        for (Object o : (List<Object>) c.get("command")) command.add(String.valueOf(o));
        assertEquals(List.of("stitch", "eval"), command.subList(0, 2));
        assertEquals("auto", command.get(command.indexOf("--shard") + 1));
        Map<String, String> env = new HashMap<>();
        for (Object o : (List<Object>) c.get("env")) {
            Map<String, Object> e = (Map<String, Object>) o;
            env.put((String) e.get("name"), String.valueOf(e.get("value")));
        }
        assertEquals(Integer.toString(completions), env.get("STITCH_SHARD_COUNT"), "STITCH_SHARD_COUNT must equal completions");
        Set<Shard> seen = new HashSet<>();
        for (int i = 0; i < completions; i++) {
            Map<String, String> pod = new HashMap<>(env);
            pod.put("JOB_COMPLETION_INDEX", Integer.toString(i));
            seen.add(Shard.auto(pod::get));
        }
        assertEquals(completions, seen.size());
        String out = command.get(command.indexOf("--out") + 1);
        assertTrue(Files.readString(PAGE).contains("stitch eval-merge " + out + " "), "the merge reads " + out);
    }
}
