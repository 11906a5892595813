package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.CaptureKey;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TraceCommandTest {
    static final String TAPS = "unet.mid_block,unet.*.attn2,text_encoder.text_model.encoder.layers.3,vae.decoder.up_blocks.0";
    @TempDir Path dir;

    /** Generation flags of a small run: two prompts, two steps, 32x32, the deterministic reference backend. */
    static List<String> flags(String... more) {
        List<String> a = new ArrayList<>(List.of("trace", "--model", TinyModel.get().toString(), "--prompt", "a red cube", "--prompt",
            "a blue sphere", "--steps", "2", "--seed", "3", "--width", "32", "--height", "32", "--device", "reference"));
        a.addAll(List.of(more));
        return a;
    }

    static CliRunner.Result trace(List<String> args) { return CliRunner.run(args.toArray(String[]::new)); }

    /** The same run in process, captured with Reduction NONE and MEAN at once. */
    static Cache[] inProcess() {
        var pipe = StableDiffusionPipeline.load(TinyModel.get());
        var req = pipe.request("a red cube", "a blue sphere").steps(2).seed(3).size(32, 32).build();
        Cache none = new Cache(), mean = new Cache();
        try (var sd = new StableDiffusion(pipe, ReferenceBackend.INSTANCE);
             var a = sd.hooks(TAPS, none.capture(Reduction.NONE)); var b = sd.hooks(TAPS, mean.capture(Reduction.MEAN))) {
            sd.generate(req);
        }
        return new Cache[] {none, mean};
    }

    static void assertFinite(float[] x, String what) {
        for (int i = 0; i < x.length; i++) assertTrue(Float.isFinite(x[i]), what + ": non-finite value at " + i);
    }

    @Test
    void traceFileHoldsWhatAnInProcessCaptureHolds() throws IOException {
        Cache[] expected = inProcess();
        Path full = dir.resolve("full.safetensors"), pooled = dir.resolve("pooled.safetensors");
        var r = trace(flags("--taps", TAPS, "--at-steps", "1", "--out", full.toString()));
        assertEquals(0, r.code(), r.err());
        r = trace(flags("--taps", TAPS, "--reduce", "mean", "--half", "cond", "--out", pooled.toString()));
        assertEquals(0, r.code(), r.err());

        // --reduce none --at-steps 1: text encoder and VAE (no step), step 1 of the UNet, both halves, full layout
        SafeTensors st = SafeTensors.open(full);
        List<CaptureKey> keys = expected[0].keys().stream().filter(k -> k.step() != 0).toList();
        assertEquals(keys.stream().map(CaptureKey::tensorName).toList(), st.names());
        assertEquals(2 + 17 * 2 + 1, keys.size());
        assertTrue(st.names().contains("text_encoder.text_model.encoder.layers.3/uncond"));
        assertTrue(st.names().contains("unet.mid_block/step1/cond") && st.names().contains("vae.decoder.up_blocks.0/cond"));
        assertArrayEquals(new int[] {2, 64, 1, 1}, st.entry("unet.mid_block/step1/uncond").intShape());
        assertArrayEquals(new int[] {2, 77, 32}, st.entry("text_encoder.text_model.encoder.layers.3/cond").intShape());
        assertArrayEquals(new int[] {2, 64, 8, 8}, st.entry("vae.decoder.up_blocks.0/cond").intShape());
        for (CaptureKey k : keys) {
            float[] got = st.floats(k.tensorName());
            assertFinite(got, k.tensorName());
            assertArrayEquals(expected[0].get(k).data(), got, k.tensorName());
        }
        var meta = st.metadata();
        assertEquals(List.of("a red cube", "a blue sphere"), List.of(new ObjectMapper().readValue(meta.get("prompts"), String[].class)));
        assertEquals("2", meta.get("steps"));
        assertEquals("3", meta.get("seed"));
        assertEquals(TAPS, meta.get("taps"));
        assertEquals("1", meta.get("at_steps"));
        assertEquals("none", meta.get("reduce"));

        // --reduce mean --half cond: [n, C] per (tap, step), conditional rows only, every step
        st = SafeTensors.open(pooled);
        keys = expected[1].keys().stream().filter(k -> k.half() == CfgHalf.COND).toList();
        assertEquals(keys.stream().map(CaptureKey::tensorName).toList(), st.names());
        assertArrayEquals(new int[] {2, 64}, st.entry("unet.mid_block/step0/cond").intShape());
        for (CaptureKey k : keys) assertArrayEquals(expected[1].get(k).data(), st.floats(k.tensorName()), k.tensorName());
        assertEquals("mean", st.metadata().get("reduce"));
        assertEquals(List.of("full.safetensors", "pooled.safetensors"), files(dir), "no temporary files left");
    }

    static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static void assertOneLineError(CliRunner.Result r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String f : fragments) assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws IOException {
        String out = dir.resolve("t.safetensors").toString();
        assertOneLineError(trace(flags("--taps", "unet.mid_blok", "--out", out)), "unknown tap 'unet.mid_blok'", "closest: unet.mid_block");
        assertOneLineError(trace(flags("--taps", "unet.mid_block,unet.*.attn3", "--out", out)), "'unet.*.attn3' matches no tap", "closest:");
        assertOneLineError(trace(flags("--taps", "unet.mid_block,", "--out", out)), "empty part");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--at-steps", "1-x", "--out", out)), "--at-steps", "'1-x'");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--at-steps", "1-0", "--out", out)), "--at-steps", "'1-0'");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--at-steps", "0,5", "--out", out)), "--at-steps", "step 5 does not exist", "2 steps");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--reduce", "max", "--out", out)), "--reduce max", "none or mean");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--half", "neither", "--out", out)), "--half neither");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--half", "uncond", "--guidance", "1", "--out", out)), "--half uncond");
        assertOneLineError(trace(flags("--taps", "unet.mid_block", "--out", dir.resolve("t.png").toString())), "must end in .safetensors");
        assertOneLineError(trace(flags("--out", out)), "--taps");
        assertOneLineError(trace(flags("--taps", "vae.encoder.conv_in", "--out", out)), "VAE encoder runs only with --init-image");
        assertEquals(List.of(), files(dir), "no file written");
    }

    /**
     * Through {@code stitch trace} on the conformance model, the UNet call that diffusers hooked (unet_A) is step 0 of an
     * unguided run of prompts ["", prompt 0] from unet_A's sample: DDIM's first timestep of 5 is 801 and its
     * init_noise_sigma 1, and the rows get the embeddings of "" and prompt 0.
     */
    @Test
    void unetTapsMatchDiffusersActivations() throws IOException {
        Path conformance = Path.of(System.getProperty("stitch.conformance", "../conformance"));
        Path model = conformance.resolve("tiny-sd2"), golden = conformance.resolve("golden");
        assumeTrue(Files.isDirectory(model) && Files.isDirectory(golden), "conformance data not found at " + conformance + ": skipped");
        SafeTensors g = SafeTensors.open(golden.resolve("unet_A_activations.safetensors"));
        assertEquals(801f, g.floats("timestep")[0]);
        Path latents = dir.resolve("latents.safetensors"), out = dir.resolve("trace.safetensors");
        new SafeTensorsWriter().addF32("latents", g.floats("sample"), g.entry("sample").intShape()).write(latents);
        String prompt0 = new ObjectMapper().readTree(golden.resolve("prompts.json").toFile()).get(0).asText();

        var r = CliRunner.run("trace", "--model", model.toString(), "--prompt", "", "--prompt", prompt0, "--guidance", "1",
            "--steps", "5", "--scheduler", "ddim", "--width", "192", "--height", "128", "--init-latents", latents.toString(),
            "--device", "cpu", "--taps", "unet.*", "--at-steps", "0", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        SafeTensors st = SafeTensors.open(out);
        int compared = 0;
        double worst = 0;
        for (String key : g.names()) {
            if (!key.startsWith("act.")) continue;
            String name = "unet." + key.substring(4) + "/step0/cond";
            if (!st.contains(name)) {
                assertTrue(key.contains(".skip"), "no " + name + " in the trace for " + key);   // skip tensors: other taps' values
                continue;
            }
            float[] want = g.floats(key), got = st.floats(name);
            assertArrayEquals(g.entry(key).intShape(), st.entry(name).intShape(), name);
            assertFinite(got, name);
            double err = 0;
            for (int i = 0; i < got.length; i++) err = Math.max(err, Math.abs((double) got[i] - want[i]));
            assertTrue(err <= 1e-4, name + ": max abs error " + err);
            worst = Math.max(worst, err);
            compared++;
        }
        System.out.printf("stitch trace vs diffusers unet_A activations: %d taps, worst max abs error %.3g%n", compared, worst);
        assertEquals(23, compared);
    }

    /**
     * Every transformer-block output of the tiny model at every one of 240 steps, full values: a trace larger than the
     * heap of the JVM that writes it, so it only succeeds if the trace streams to disk.
     */
    @Test
    void tracingMoreThanTheHeapStreamsToDisk() throws Exception {
        Path out = dir.resolve("blocks.safetensors");
        int steps = 240, heapMb = 96;   // the model itself needs ~60 MB at the VAE decode (packed weights, a 16 MB patch chunk)
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx" + heapMb + "m", "-XX:+UseParallelGC", "--add-modules", "jdk.incubator.vector", "-cp",
            System.getProperty("java.class.path"), Main.class.getName(), "trace", "--model", TinyModel.get().toString(),
            "--prompt", "a cat", "--steps", Integer.toString(steps), "--seed", "1", "--width", "128", "--height", "128",
            "--device", "cpu", "--taps", "unet.*.transformer_blocks.0", "--reduce", "none", "--out", out.toString())
            .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "the small-heap trace failed:\n" + log);
        assertTrue(Files.size(out) > heapMb << 20, "trace of " + Files.size(out) + " bytes, heap " + heapMb + " MB");

        SafeTensors st = SafeTensors.open(out);
        var catalog = StableDiffusionPipeline.load(TinyModel.get()).tapCatalog(128, 128);
        List<String> blocks = catalog.resolve("unet.*.transformer_blocks.0");
        assertEquals(16, blocks.size());
        assertEquals(16 * steps * 2, st.names().size());
        for (int k = 0; k < steps; k++)
            for (String tap : blocks)
                for (CfgHalf h : CfgHalf.values()) {
                    String name = new CaptureKey(tap, k, h).tensorName();
                    assertArrayEquals(catalog.entry(tap).shape(), st.entry(name).intShape(), name);
                    if (k % 37 == 0 || k == steps - 1) assertFinite(st.floats(name), name);
                }
        assertEquals(List.of("blocks.safetensors"), files(dir));
    }
    /** SD-Turbo at guidance 0 has no unconditional pass: the trace holds only cond rows, one per prompt, per step. */
    @Test
    void sdTurboAtGuidanceZeroTracesOnlyTheCondHalf() throws IOException {
        Path model = Path.of(System.getProperty("stitch.conformance", "../conformance")).resolve("tiny-sd-turbo");
        assumeTrue(Files.isDirectory(model), "conformance data not found at " + model + ": skipped");
        String out = dir.resolve("turbo.safetensors").toString();
        var r = trace(List.of("trace", "--model", model.toString(), "--prompt", "a red cube", "--steps", "2", "--guidance", "0",
            "--seed", "3", "--width", "64", "--height", "64", "--device", "cpu", "--taps", "unet.mid_block", "--out", out));
        assertEquals(0, r.code(), r.err());
        SafeTensors st = SafeTensors.open(Path.of(out));
        assertEquals(List.of("unet.mid_block/step0/cond", "unet.mid_block/step1/cond"), st.names().stream().sorted().toList());
        assertArrayEquals(new int[] {1, 64, 1, 1}, st.entry("unet.mid_block/step0/cond").intShape());
    }
}
