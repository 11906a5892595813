package dev.stitch.cli;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a hostile or careless user can give the model and file commands: each is refused with one line on stderr and
 * exit code 2, before anything is destroyed, and no run hangs, crashes with a stack trace or writes a black image.
 */
class HostileInputTest {
    static final String[] FAST = {"--steps", "2", "--width", "32", "--height", "32", "--seed", "1", "--device", "cpu"};

    static String[] args(String... a) { return a; }

    static String[] generate(Path model, String... more) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "a red cube"));
        a.addAll(List.of(FAST));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** Exit code 2 and, as the last line on stderr, one line that contains {@code part} (no stack trace before it). */
    static String refused(CliRunner.Result r, String part) {
        assertEquals(2, r.code(), r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertTrue(lines.size() <= 2 && lines.stream().allMatch(l -> l.startsWith("stitch: ")), r.err());
        assertTrue(lines.getLast().contains(part), r.err());
        return lines.getLast();
    }

    static String sha(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    /** A private copy of the tiny model, to damage. */
    static Path copyOfTiny(Path dir) throws IOException {
        Path src = TinyModel.get(), dst = dir.resolve("model");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.toList()) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        return dst;
    }

    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    // ---- outputs never overwrite inputs ----

    @Test
    void convertWillNotReplaceTheFolderThatHoldsItsSource(@TempDir Path dir) throws Exception {
        Path d = Files.createDirectories(dir.resolve("D"));
        Path src = Files.writeString(d.resolve("x.safetensors"), "the only copy of a checkpoint");
        String before = sha(src);
        refused(CliRunner.run("convert", "--from", src.toString(), "--to", d.toString(), "--force"),
            "would replace a folder that holds the input --from");
        assertEquals(before, sha(src));
        Path model = TinyModel.get();
        Path weights = model.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS);
        String w = sha(weights);
        refused(CliRunner.run("convert", "--to-ldm", "--from", model.toString(), "--to", weights.toString(), "--force"),
            "lies inside the input --from");
        assertEquals(w, sha(weights));
    }

    @Test
    void generateAndTraceWillNotWriteIntoTheModelOrOverASteeringFile(@TempDir Path dir) throws Exception {
        Path model = TinyModel.get();
        Path weights = model.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS);
        String w = sha(weights);
        refused(CliRunner.run(generate(model, "--out", dir.resolve("a.png").toString(), "--save-latents", weights.toString())),
            "--save-latents " + weights + ": ");
        assertEquals(w, sha(weights));
        refused(CliRunner.run(generate(model, "--out", model.resolve("a.png").toString())), "lies inside the input --model");
        refused(CliRunner.run("trace", "--model", model.toString(), "--prompt", "x", "--taps", "unet.mid_block", "--steps", "1",
            "--out", model.resolve("unet/trace.safetensors").toString()), "lies inside the input --model");
        assertFalse(Files.exists(model.resolve("a.png")) || Files.exists(model.resolve("unet/trace.safetensors")));

        Path steer = dir.resolve("w.safetensors");
        new SafeTensorsWriter().addF32("unet.mid_block", new float[] {1, 2, 3, 4}, 1, 4).write(steer);
        String s = sha(steer);
        refused(CliRunner.run(generate(model, "--out", dir.resolve("b.png").toString(), "--steer", steer + "@2",
            "--save-latents", dir.resolve("./w.safetensors").toString())), "is the same file as the input --steer");
        assertEquals(s, sha(steer));
    }

    // ---- hangs ----

    @Test
    void inspectRefusesAFifoInsteadOfBlocking(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("x.safetensors");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assumeTrue(p.waitFor() == 0, "mkfifo is not available");
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            refused(CliRunner.run("inspect", fifo.toString()), fifo + ": not a regular file");
            // in a folder, a FIFO is skipped like any other non-file
            new SafeTensorsWriter().addF32("t", new float[] {1}, 1).write(dir.resolve("y.safetensors"));
            CliRunner.Result r = CliRunner.run("inspect", dir.toString());
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("y.safetensors") && !r.out().contains("x.safetensors"), r.out());
        });
    }

    // ---- internal errors that are user errors ----

    @Test
    void absurdSizesAndConfigValuesAreUserErrors(@TempDir Path dir) throws Exception {
        refused(CliRunner.run("generate", "--model", TinyModel.get().toString(), "--prompt", "x", "--steps", "1", "--width", "2147483640",
            "--height", "64", "--out", dir.resolve("w.png").toString()), "too large");

        Path model = copyOfTiny(dir);
        Path unetConfig = model.resolve("unet/config.json"), schedulerConfig = model.resolve("scheduler/scheduler_config.json");
        String unet = Files.readString(unetConfig), sched = Files.readString(schedulerConfig);
        for (String key : List.of("norm_num_groups", "sample_size")) {
            String bad = unet.replaceFirst("\"" + key + "\": \\d+", "\"" + key + "\": 0");
            assertNotEquals(unet, bad);
            Files.writeString(unetConfig, bad);
            refused(CliRunner.run(generate(model, "--out", dir.resolve("c.png").toString())), unetConfig + ": " + key);
        }
        Files.writeString(unetConfig, unet);
        Files.writeString(schedulerConfig, sched.replaceFirst("\"beta_start\": [0-9.e-]+", "\"beta_start\": -1"));
        refused(CliRunner.run(generate(model, "--out", dir.resolve("s.png").toString())), schedulerConfig + ": 'beta_start' = -1.0");
        assertFalse(Files.exists(dir.resolve("s.png")));
    }

    @Test
    void nanWeightsStopTheRunAtTheStepInsteadOfWritingABlackImage(@TempDir Path dir) throws Exception {
        Path model = copyOfTiny(dir);
        Path weights = model.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS);
        SafeTensors st = SafeTensors.open(weights);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (String n : st.names()) {
            Tensor t = st.tensor(n);
            float[] v = t.data().clone();
            if (n.equals("mid_block.resnets.0.conv1.weight")) v[3] = Float.NaN;
            w.addF32(n, v, t.shape());
        }
        w.write(dir.resolve("poisoned.safetensors"));
        Files.move(dir.resolve("poisoned.safetensors"), weights, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path out = dir.resolve("black.png");
        refused(CliRunner.run(generate(model, "--out", out.toString())),
            "in the latents after denoising step 0 (0-based) of 2, first at tap unet.mid_block.resnets.0");
        assertFalse(Files.exists(out));
    }

    @Test
    void traceIntoAFolderThatCannotBeMadeSaysCannotWrite(@TempDir Path dir) throws Exception {
        Path plain = Files.writeString(dir.resolve("plain"), "a file where a folder is needed");
        refused(CliRunner.run("trace", "--model", TinyModel.get().toString(), "--prompt", "x", "--taps", "unet.mid_block", "--steps", "1",
            "--width", "32", "--height", "32", "--device", "cpu", "--out", plain.resolve("t.safetensors").toString()),
            "cannot write " + plain.resolve("t.safetensors"));
    }

    // ---- leftovers of killed runs ----

    @Test
    void leftoversOfAKilledRunAreCleanedByTheNextRunOfTheSameTarget(@TempDir Path dir) throws Exception {
        long dead = deadPid();
        Path stale = Files.writeString(dir.resolve(".t.safetensors." + dead + "-5eed.data.tmp"), "a big trace's data");
        CliRunner.Result r = CliRunner.run("trace", "--model", TinyModel.get().toString(), "--prompt", "x", "--taps", "unet.mid_block",
            "--steps", "1", "--width", "32", "--height", "32", "--device", "cpu", "--out", dir.resolve("t.safetensors").toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(stale));

        Path partial = Files.createDirectories(dir.resolve(".m." + dead + "-1.partial/unet"));
        r = CliRunner.run("make-random-model", "--config", "tiny", "--out", dir.resolve("m").toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(partial.getParent()));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("m", "t.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    // ---- messages ----

    @Test
    void aNonAsciiPathUnderTheCLocaleSaysWhatToDo(@TempDir Path dir) throws Exception {
        String javaCmd = ProcessHandle.current().info().command().orElse(null);
        assumeTrue(javaCmd != null, "no java command");
        ProcessBuilder pb = new ProcessBuilder(javaCmd, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "inspect",
            dir.resolve("café.safetensors").toString());
        pb.environment().remove("LC_ALL");
        pb.environment().remove("LC_CTYPE");
        pb.environment().put("LANG", "C");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assumeTrue(!out.contains("no such file"), "this JVM spells non-ASCII names under LANG=C: " + out);
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("UTF-8") && out.strip().lines().count() == 1, out);
    }
}
