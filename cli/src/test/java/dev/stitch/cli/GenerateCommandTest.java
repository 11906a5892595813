package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code stitch generate} end to end: the conformance pipeline through the command line, batches and PNG metadata,
 * seeds, guidance 1, img2img, every scheduler, and the mistakes a new user makes (one line on stderr, exit code 2).
 * Most cases run on a tiny random-weight model written once for the class (64×64 images, a few steps).
 */
class GenerateCommandTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path GOLDEN = CONFORMANCE.resolve("golden"), CONFORMANCE_MODEL = CONFORMANCE.resolve("tiny-sd2");

    @TempDir static Path dir;
    static Path tiny;

    @BeforeAll
    static void writeTinyModel() {
        tiny = dir.resolve("tiny");
        var r = CliRunner.run("make-random-model", "--config", "tiny", "--out", tiny.toString());
        assertEquals(0, r.code(), r.err());
    }

    static CliRunner.Result ok(String... args) {
        var r = CliRunner.run(args);
        assertEquals(0, r.code(), () -> "stitch " + String.join(" ", args) + "\n" + r.err());
        return r;
    }

    /** generate on the tiny model with a few steps, plus {@code more} flags. */
    static CliRunner.Result tinyRun(Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", tiny.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        if (!args.contains("--steps")) args.addAll(List.of("--steps", "3"));
        return ok(args.toArray(String[]::new));
    }

    static float[] latents(Path file) { return SafeTensors.open(file).floats("latents"); }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            assertTrue(Float.isFinite(a[i]), "non-finite value at " + i);
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static double meanPixelDiff(byte[] a, byte[] b) {
        assertEquals(a.length, b.length);
        long sum = 0;
        for (int i = 0; i < a.length; i++) sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
        return (double) sum / a.length;
    }

    // ---- the conformance pipeline through the command line ----

    @Test
    void reproducesTheDdimConformancePipeline() throws IOException {
        assumeTrue(Files.isDirectory(CONFORMANCE_MODEL), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps.safetensors"));
        Path noise = dir.resolve("init_noise.safetensors"), saved = dir.resolve("ddim_eps_latents.safetensors"), out = dir.resolve("ddim_eps.png");
        new SafeTensorsWriter().addF32("latents", g.floats("init_noise"), g.entry("init_noise").intShape()).write(noise);
        String prompt = new ObjectMapper().readTree(GOLDEN.resolve("prompts.json").toFile()).get(1).asText();

        ok("generate", "--model", CONFORMANCE_MODEL.toString(), "--prompt", prompt, "--negative-prompt", "", "--steps", "8",
            "--guidance", "7.5", "--scheduler", "ddim", "--width", "192", "--height", "128", "--seed", "0", "--device", "cpu",
            "--init-latents", noise.toString(), "--save-latents", saved.toString(), "--out", out.toString());

        float[] ref = g.floats("final_latents");
        double err = maxAbsDiff(latents(saved), ref), tol = 1e-3 * Math.max(1, maxAbs(ref));
        assertTrue(err <= tol, "final latents max-abs " + err + " > " + tol);
        byte[] golden = Png.read(GOLDEN.resolve("pipeline_ddim_eps.png")).rgb(), ours = Png.read(out).rgb();
        assertEquals(golden.length, ours.length);
        int worst = 0;
        for (int i = 0; i < golden.length; i++) worst = Math.max(worst, Math.abs((golden[i] & 0xff) - (ours[i] & 0xff)));
        System.out.printf("CLI ddim_eps: final latents max-abs %.3g (tolerance %.3g), PNG max difference %d%n", err, tol, worst);
        assertTrue(worst <= 1, "PNG differs by " + worst);
    }

    /**
     * SD-Turbo as its model card runs it, through the command line: 1 step at guidance 0 (txt2img) and 2 steps at
     * strength 0.5 from an image (img2img), against diffusers' pipelines on the tiny SD-Turbo model (golden README (g)).
     */
    @Test
    void reproducesTheSdTurboConformancePipelines() throws IOException {
        Path model = CONFORMANCE.resolve("tiny-sd-turbo");
        assumeTrue(Files.isDirectory(model), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        String prompt = new ObjectMapper().readTree(GOLDEN.resolve("prompts.json").toFile()).get(1).asText();
        String[][] cases = {
            {"turbo_euler_1step", "--steps", "1", "--width", "192", "--height", "128"},
            {"turbo_img2img_2step", "--steps", "2", "--init-image", GOLDEN.resolve("turbo_img2img_init.png").toString(), "--strength", "0.5"}};
        for (String[] c : cases) {
            Path saved = dir.resolve(c[0] + ".safetensors"), out = dir.resolve(c[0] + ".png");
            List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", prompt, "--guidance", "0",
                "--seed", "42", "--device", "cpu", "--save-latents", saved.toString(), "--out", out.toString()));
            args.addAll(Arrays.asList(c).subList(1, c.length));
            var r = ok(args.toArray(String[]::new));
            assertTrue(r.err().contains("stitch: 1 UNet step,"), r.err());   // img2img at strength 0.5 runs 1 of its 2 steps
            float[] ref = SafeTensors.open(GOLDEN.resolve(c[0] + ".safetensors")).floats("final_latents");
            double err = maxAbsDiff(latents(saved), ref), tol = 1e-3 * Math.max(1, maxAbs(ref));
            assertTrue(err <= tol, c[0] + ": final latents max-abs " + err + " > " + tol);
            byte[] golden = Png.read(GOLDEN.resolve(c[0] + ".png")).rgb(), ours = Png.read(out).rgb();
            int worst = 0;
            for (int i = 0; i < golden.length; i++) worst = Math.max(worst, Math.abs((golden[i] & 0xff) - (ours[i] & 0xff)));
            System.out.printf("CLI %s: final latents max-abs %.3g (tolerance %.3g), PNG max difference %d%n", c[0], err, tol, worst);
            assertTrue(worst <= 1, c[0] + ": PNG differs by " + worst);
            assertEquals("euler", pngText(out).get("scheduler"));
        }
    }

    /** make-random-model's tiny-turbo preset: SD-Turbo's scheduler (Euler, trailing spacing) on the tiny model. */
    @Test
    void tinyTurboPresetRunsWithTheTurboScheduler() throws IOException {
        Path turbo = dir.resolve("tiny-turbo"), out = dir.resolve("tiny-turbo.png");
        ok("make-random-model", "--config", "tiny-turbo", "--out", turbo.toString());
        assertTrue(Files.readString(turbo.resolve("scheduler/scheduler_config.json")).contains("\"trailing\""));
        var r = ok("generate", "--model", turbo.toString(), "--prompt", "a cat", "--steps", "1", "--guidance", "0", "--seed", "1",
            "--device", "cpu", "--out", out.toString());
        assertTrue(r.err().contains("1 UNet step"), r.err());
        assertEquals("euler", pngText(out).get("scheduler"));
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(turbo);
        GenerateRequest req = pipe.request("a cat").steps(4).guidance(0).build();
        assertEquals(SchedulerKind.EULER, req.scheduler());
        assertEquals(dev.stitch.engine.schedulers.TimestepSpacing.TRAILING, req.timestepSpacing());
    }

    // ---- where the time went ----

    @Test
    void summarisesWhereTheTimeWentInOneLineAndAsJson() throws IOException {
        Path out = dir.resolve("timed.png"), json = dir.resolve("timed.json");
        var r = tinyRun(out, "--prompt", "a cat", "--seed", "1", "--json", json.toString());
        var line = r.err().lines().filter(l -> l.startsWith("stitch: load ")).toList();
        assertEquals(1, line.size(), r.err());
        String n = "\\d+\\.\\d+";
        assertTrue(line.get(0).matches("stitch: load " + n + " s, text encoder " + n + " s, 3 steps at " + n + " s/step, "
            + "VAE decode " + n + " s, total " + n + " s, peak memory (" + n + " GB|unknown)"), line.get(0));
        var j = new ObjectMapper().readTree(json.toFile());
        for (String key : List.of("load_s", "text_encoder_s", "step_mean_s", "vae_decode_s", "total_s"))
            assertTrue(j.get(key).isNumber() && j.get(key).asDouble() >= 0, key + " in " + j);
        assertEquals(3, j.get("steps").asInt());
        assertEquals(3, j.get("step_s").size());
        double parts = j.get("load_s").asDouble() + j.get("text_encoder_s").asDouble() + j.get("vae_decode_s").asDouble();
        for (var s : j.get("step_s")) parts += s.asDouble();
        assertTrue(parts <= j.get("total_s").asDouble() + 1e-6, "the parts exceed the total: " + j);
        assertTrue(j.get("peak_rss_bytes").isNull() || j.get("peak_rss_bytes").asLong() > 0, j.toString());

        var bad = CliRunner.run("generate", "--model", tiny.toString(), "--prompt", "a", "--out", dir.resolve("x.png").toString(),
            "--json", dir.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().strip().startsWith("stitch: --json " + dir) && bad.err().strip().lines().count() == 1, bad.err());
    }

    // ---- a single-file checkpoint as --model ----

    static final Path LDM = CONFORMANCE.resolve("tiny-sd2-ldm/tiny-sd2-ldm.safetensors");

    @Test
    void generatesFromASingleFileCheckpointExactlyAsFromItsDiffusersFolder() {
        assumeTrue(Files.isRegularFile(LDM), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        Path fromFile = dir.resolve("ldm_latents.safetensors"), fromFolder = dir.resolve("folder_latents.safetensors");
        String[] common = {"--prompt", "a lighthouse at dusk", "--steps", "4", "--width", "64", "--height", "64", "--seed", "3",
            "--scheduler", "ddim", "--device", "cpu"};
        List<String> a = new ArrayList<>(List.of("generate", "--model", LDM.toString(), "--tokenizer", CONFORMANCE_MODEL.resolve("tokenizer").toString(),
            "--out", dir.resolve("ldm.png").toString(), "--save-latents", fromFile.toString()));
        a.addAll(List.of(common));
        var r = ok(a.toArray(String[]::new));
        assertTrue(r.err().contains("tiny-sd2-ldm.safetensors: config:"), "the converter's decisions are printed:\n" + r.err());
        List<String> b = new ArrayList<>(List.of("generate", "--model", CONFORMANCE_MODEL.toString(),
            "--out", dir.resolve("folder.png").toString(), "--save-latents", fromFolder.toString()));
        b.addAll(List.of(common));
        ok(b.toArray(String[]::new));
        float[] x = latents(fromFile), y = latents(fromFolder);
        assertTrue(maxAbs(x) > 0.1, "latents carry a signal");
        assertArrayEquals(y, x, "the same tensors and configs give the same bits");
    }

    @Test
    void aCheckpointWithoutATokenizerOrAnUnknownFileIsOneLine() throws IOException {
        assumeTrue(Files.isRegularFile(LDM), "conformance data not found at " + CONFORMANCE.toAbsolutePath() + ": skipped");
        Path lone = Files.copy(LDM, dir.resolve("lone.safetensors"));   // its yaml, but no tokenizer/ beside it
        Files.copy(LDM.resolveSibling("tiny-sd2-ldm.yaml"), dir.resolve("lone.yaml"));
        var r = CliRunner.run("generate", "--model", lone.toString(), "--prompt", "x", "--out", dir.resolve("lone.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().strip().startsWith("stitch: " + lone + ": a single-file checkpoint holds no tokenizer: pass --tokenizer DIR"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Path bin = Files.writeString(dir.resolve("weights.bin"), "not a model");
        r = CliRunner.run("generate", "--model", bin.toString(), "--prompt", "x", "--out", dir.resolve("bin.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(bin + ": neither a diffusers model folder nor a checkpoint"), r.err());
        r = CliRunner.run("generate", "--model", tiny.toString(), "--tokenizer", tiny.resolve("tokenizer").toString(), "--prompt", "x",
            "--out", dir.resolve("t.png").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--tokenizer is for single-file checkpoints"), r.err());
        assertFalse(Files.exists(dir.resolve("lone.png")) || Files.exists(dir.resolve("bin.png")) || Files.exists(dir.resolve("t.png")));
    }

    // ---- outputs ----

    @Test
    void batchWritesOneNumberedPngPerPromptWithTextChunks() throws IOException {
        Path out = dir.resolve("batch/out.png");
        var r = tinyRun(out, "--prompt", "a red fox", "--prompt", "Café at night", "--negative-prompt", "blurry", "--seed", "7",
            "--guidance", "5", "--scheduler", "euler");
        Path second = dir.resolve("batch/out-1.png");
        assertTrue(Files.isRegularFile(out) && Files.isRegularFile(second), r.err());
        assertFalse(Files.exists(dir.resolve("batch/out-2.png")));
        try (Stream<Path> s = Files.list(dir.resolve("batch"))) {
            assertEquals(2, s.count(), "no temporary files left behind");
        }
        Map<String, String> first = pngText(out), other = pngText(second);
        assertEquals("a red fox", first.get("prompt"));
        assertEquals("Café at night", other.get("prompt"), "a non-Latin-1 prompt goes in an iTXt chunk as UTF-8");
        for (Map<String, String> t : List.of(first, other)) {
            assertEquals("7", t.get("seed"));
            assertEquals("3", t.get("steps"));
            assertEquals("euler", t.get("scheduler"));
            assertEquals("5.0", t.get("guidance"));
            assertEquals("blurry", t.get("negative_prompt"));
        }
        assertFalse(Arrays.equals(Png.read(out).rgb(), Png.read(second).rgb()), "two prompts, two different images");
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherImage() throws IOException {
        Path a = dir.resolve("seed-a.png"), b = dir.resolve("seed-b.png"), c = dir.resolve("seed-c.png");
        tinyRun(a, "--prompt", "a lighthouse", "--seed", "1234");
        tinyRun(b, "--prompt", "a lighthouse", "--seed", "1234");
        tinyRun(c, "--prompt", "a lighthouse", "--seed", "1235");
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "same seed, same file");
        assertTrue(meanPixelDiff(Png.read(a).rgb(), Png.read(c).rgb()) > 1, "another seed gives another image");
    }

    @Test
    void noSeedDrawsOneAndPrintsIt() {
        Path out = dir.resolve("noseed.png");
        var r = tinyRun(out, "--prompt", "a lighthouse");
        var m = java.util.regex.Pattern.compile("seed (\\d+)").matcher(r.err());
        assertTrue(m.find(), r.err());
        assertEquals(m.group(1), pngText(out).get("seed"));
    }

    @Test
    void guidanceOneRunsOnlyTheConditionalPass() {
        Path out = dir.resolve("g1.png"), saved = dir.resolve("g1.safetensors");
        tinyRun(out, "--prompt", "a lighthouse", "--seed", "5", "--guidance", "1", "--save-latents", saved.toString());

        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(tiny);
        List<Integer> unetBatch = new ArrayList<>();
        GenerateRequest req = pipe.request("a lighthouse").steps(3).guidance(1f).seed(5).build();
        GenerateResult res = pipe.generate(req, Backends.byName("cpu"), (name, layout, x, call) -> {
            if (name.equals("unet.conv_in")) unetBatch.add(x.dim(0));
            return x;
        }, StableDiffusionPipeline.Progress.NONE);
        assertEquals(List.of(1, 1, 1), unetBatch, "one UNet row per step: no unconditional pass");
        assertArrayEquals(res.latents().data(), latents(saved), "the command line gives the in-process result");
        assertArrayEquals(res.pixels()[0], Png.read(out).rgb());
    }

    /**
     * A random-weight VAE does not reconstruct its input, so the change is measured from what the denoiser starts from:
     * the init image's latents (the VAE mean, scaled) and their decoded image.
     */
    @Test
    void img2imgChangesTheImageLessAtLowerStrength() {
        Path base = dir.resolve("i2i-base.png");
        tinyRun(base, "--prompt", "a lighthouse", "--seed", "3");
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(tiny);
        Ctx c = new Ctx(Backends.byName("cpu"));
        RgbImage init = Png.read(base);
        Tensor mean = pipe.vae.encode(c, Images.fromUint8(new byte[][] {init.rgb()}, init.height(), init.width()), null);
        float[] start = mean.data().clone(), unscaled = mean.data();
        for (int i = 0; i < start.length; i++) start[i] *= pipe.vae.scalingFactor();
        byte[] startImage = Images.toUint8(pipe.vae.decode(c, Tensor.of(unscaled, mean.shape())))[0];

        String[] strengths = {"0.2", "0.9"};
        double[] latentChange = new double[2], pixelChange = new double[2];
        for (int i = 0; i < 2; i++) {
            Path out = dir.resolve("i2i-" + strengths[i] + ".png"), saved = dir.resolve("i2i-" + strengths[i] + ".safetensors");
            ok("generate", "--model", tiny.toString(), "--steps", "10", "--prompt", "a lighthouse at night", "--seed", "4",
                "--init-image", base.toString(), "--strength", strengths[i], "--save-latents", saved.toString(), "--out", out.toString());
            float[] z = latents(saved);
            double sum = 0;
            for (int k = 0; k < z.length; k++) sum += Math.abs(z[k] - start[k]);
            latentChange[i] = sum / z.length;
            pixelChange[i] = meanPixelDiff(startImage, Png.read(out).rgb());
        }
        System.out.printf("img2img: mean |latent change| %.3f at strength 0.2, %.3f at 0.9; mean |pixel change| %.1f, %.1f%n",
            latentChange[0], latentChange[1], pixelChange[0], pixelChange[1]);
        assertTrue(latentChange[0] > 0 && pixelChange[0] > 0, "the image is re-drawn");
        assertTrue(latentChange[0] < latentChange[1], "latents: strength 0.2 changed " + latentChange[0] + ", 0.9 " + latentChange[1]);
        assertTrue(pixelChange[0] < pixelChange[1], "pixels: strength 0.2 changed " + pixelChange[0] + ", 0.9 " + pixelChange[1]);
    }

    @Test
    void everySchedulerRuns() {
        Map<String, float[]> results = new HashMap<>();
        for (SchedulerKind kind : SchedulerKind.values()) {
            String name = kind.label;
            Path out = dir.resolve("sched-" + name.replace("+", "p") + ".png"), saved = dir.resolve("sched-" + name.replace("+", "p") + ".safetensors");
            tinyRun(out, "--prompt", "a lighthouse", "--seed", "9", "--scheduler", name, "--save-latents", saved.toString());
            assertEquals(name, pngText(out).get("scheduler"));
            float[] z = latents(saved);
            for (float v : z) assertTrue(Float.isFinite(v), name + ": non-finite latents");
            assertTrue(maxAbs(z) > 0, name);
            results.put(name, z);
        }
        assertFalse(Arrays.equals(results.get("ddim"), results.get("euler-a")), "schedulers differ");
    }

    // ---- mistakes: one line on stderr, exit code 2 ----

    static void userError(String expected, String... args) {
        var r = CliRunner.run(args);
        String cmd = "stitch " + String.join(" ", args);
        assertEquals(2, r.code(), () -> cmd + "\n" + r.err());
        assertEquals(1, r.err().strip().lines().count(), () -> cmd + ": expected one line, got\n" + r.err());
        assertTrue(r.err().startsWith("stitch: "), r.err());
        assertTrue(r.err().contains(expected), () -> cmd + ": expected '" + expected + "' in\n" + r.err());
        assertEquals("", r.out());
    }

    /** generate on {@code model} for a 2-step, 64×64 run, plus {@code more} flags. */
    static String[] gen(Path model, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "a cat",
            "--out", dir.resolve("bad.png").toString()));
        args.addAll(List.of(more));
        if (!args.contains("--steps")) args.addAll(List.of("--steps", "2"));
        return args.toArray(String[]::new);
    }

    static Path copyOfTiny(String name) throws IOException {
        Path copy = dir.resolve(name);
        try (Stream<Path> s = Files.walk(tiny)) {
            for (Path p : s.toList()) Files.copy(p, copy.resolve(tiny.relativize(p).toString()));
        }
        return copy;
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    @Test
    void badModelFolders() throws IOException {
        userError("no such model folder", gen(dir.resolve("no-such-model")));
        userError("neither a diffusers model folder nor a checkpoint", gen(tiny.resolve("unet/config.json")));
        userError("no model_index.json", gen(tiny.resolve("unet")));

        Path noVae = copyOfTiny("no-vae");
        deleteTree(noVae.resolve("vae"));
        userError("missing component folder 'vae/'", gen(noVae));

        Path truncated = copyOfTiny("truncated");
        Path weights = truncated.resolve("unet/diffusion_pytorch_model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        userError("truncated", gen(truncated));
        userError("unet/diffusion_pytorch_model.safetensors", gen(truncated));

        Path corrupt = copyOfTiny("corrupt-config");
        Files.writeString(corrupt.resolve("unet/config.json"), "{\"block_out_channels\": [32, 32,\n");
        userError("unet/config.json: not valid JSON (line 2, column 1: ", gen(corrupt));

        Path noConfig = copyOfTiny("no-config");
        Files.delete(noConfig.resolve("text_encoder/config.json"));
        userError("text_encoder/config.json: no such file", gen(noConfig));

        Path wrongShape = copyOfTiny("wrong-shape");
        Path unetConfig = wrongShape.resolve("unet/config.json");
        Files.writeString(unetConfig, Files.readString(unetConfig).replace("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 64"));
        userError("expected [32, 64]", gen(wrongShape));

        Path otherScheduler = copyOfTiny("other-scheduler");
        Path schedulerConfig = otherScheduler.resolve("scheduler/scheduler_config.json");
        Files.writeString(schedulerConfig, Files.readString(schedulerConfig).replace("DDIMScheduler", "LCMScheduler"));
        userError("LCMScheduler is not supported", gen(otherScheduler));
    }

    @Test
    void badFlags() throws IOException {
        userError("--width 500", gen(tiny, "--width", "500"));
        userError("--height 0", gen(tiny, "--height", "0"));
        userError("--steps 0", gen(tiny, "--steps", "0"));
        userError("--steps 5000", gen(tiny, "--steps", "5000"));
        userError("--scheduler unipc: expected one of ddim, pndm, euler, euler-a, dpm++2m", gen(tiny, "--scheduler", "unipc"));
        userError("--out ", "generate", "--model", tiny.toString(), "--prompt", "a cat", "--out", dir.resolve("cat.jpg").toString());
        userError("--out ", "generate", "--model", tiny.toString(), "--prompt", "a cat", "--out", dir.toString() + "/");
        userError("--prompt", "generate", "--model", tiny.toString(), "--out", dir.resolve("cat.png").toString());
        userError("Missing required option: '--out", "generate", "--model", tiny.toString(), "--prompt", "a cat");
        userError("--guidance", gen(tiny, "--guidance", "-2"));
        userError("--negative-prompt", gen(tiny, "--prompt", "a dog", "--prompt", "a cow", "--negative-prompt", "x", "--negative-prompt", "y"));
        userError("--device gpu", gen(tiny, "--device", "gpu"));
        userError("--prediction x0: expected epsilon or v", gen(tiny, "--prediction", "x0"));
        userError("--timestep-spacing karras: expected leading, linspace or trailing", gen(tiny, "--timestep-spacing", "karras"));
        userError("'--sampler'", gen(tiny, "--sampler", "ddim"));
        userError("did you mean --scheduler?", gen(tiny, "--schedular", "ddim"));
        userError("--steer", gen(tiny, "--steer", dir.resolve("no-such-steering.safetensors").toString()));
        assertFalse(Files.exists(dir.resolve("bad.png")), "no output from a failed run");
    }

    @Test
    void badStartLatentsAndImages() throws IOException {
        Path wrongShape = dir.resolve("wrong-shape-latents.safetensors");
        new SafeTensorsWriter().addF32("latents", new float[4 * 4 * 4], 1, 4, 4, 4).write(wrongShape);
        userError("--init-latents: shape [1, 4, 4, 4], expected [1, 4, 8, 8]",
            gen(tiny, "--init-latents", wrongShape.toString()));

        Path otherName = dir.resolve("other-name.safetensors");
        new SafeTensorsWriter().addF32("noise", new float[4 * 8 * 8], 1, 4, 8, 8).write(otherName);
        userError("no tensor named 'latents'", gen(tiny, "--init-latents", otherName.toString()));

        Path notSafetensors = dir.resolve("not.safetensors");
        Files.writeString(notSafetensors, "hello");
        userError("not.safetensors", gen(tiny, "--init-latents", notSafetensors.toString()));
        userError("no such file", gen(tiny, "--init-latents", dir.resolve("missing.safetensors").toString()));

        userError("not an image", gen(tiny, "--init-image", notSafetensors.toString()));
        Path image = dir.resolve("init-64.png");
        tinyRun(image, "--prompt", "a lighthouse", "--seed", "1", "--steps", "1");
        userError("--init-image", gen(tiny, "--init-image", image.toString(), "--width", "128"));
        userError("--strength 0.0", gen(tiny, "--init-image", image.toString(), "--strength", "0"));
        userError("leaves no denoising step", gen(tiny, "--init-image", image.toString(), "--strength", "0.1"));
    }

    /** The PNG's tEXt (Latin-1) and iTXt (UTF-8) chunks. */
    static Map<String, String> pngText(Path file) {
        ByteBuffer b;
        try {
            b = ByteBuffer.wrap(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        b.position(8);
        Map<String, String> text = new HashMap<>();
        while (b.hasRemaining()) {
            byte[] type = new byte[4], data = new byte[b.getInt()];
            b.get(type).get(data).getInt();
            int zero = indexOf(data, 0, 0);
            String key = zero < 0 ? "" : new String(data, 0, zero, StandardCharsets.ISO_8859_1);
            switch (new String(type, StandardCharsets.US_ASCII)) {
                case "tEXt" -> text.put(key, new String(data, zero + 1, data.length - zero - 1, StandardCharsets.ISO_8859_1));
                case "iTXt" -> {
                    int lang = indexOf(data, 0, zero + 3), translated = indexOf(data, 0, lang + 1);
                    text.put(key, new String(data, translated + 1, data.length - translated - 1, StandardCharsets.UTF_8));
                }
                default -> { }
            }
        }
        return text;
    }

    private static int indexOf(byte[] a, int v, int from) {
        for (int i = from; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }
}
