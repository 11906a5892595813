package dev.stitch.cli;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code stitch decode}, {@code stitch encode}, {@code --vae} and {@code make-random-model --vae-kind tiny} against
 * diffusers' tensors (conformance/golden/README.md (i), (j)): the model's AutoencoderKL and the tiny AutoencoderTiny.
 */
class DecodeEncodeCommandTest {
    static final Path CONFORMANCE = GenerateCommandTest.CONFORMANCE, GOLDEN = GenerateCommandTest.GOLDEN;
    static final Path SD2 = CONFORMANCE.resolve("tiny-sd2"), TAESD = CONFORMANCE.resolve("tiny-taesd");

    @TempDir static Path dir;

    @BeforeAll
    static void conformance() { assumeTrue(Files.isDirectory(TAESD), "conformance data not found at " + CONFORMANCE); }

    static Path latentsFile(String name, Tensor latents) {
        Path f = dir.resolve(name);
        new SafeTensorsWriter().add("latents", latents).write(f);
        return f;
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

    static int pngDiff(Path a, Path b) {
        byte[] x = Png.read(a).rgb(), y = Png.read(b).rgb();
        assertEquals(x.length, y.length);
        int worst = 0;
        for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] & 0xff) - (y[i] & 0xff)));
        return worst;
    }

    static CliRunner.Result fails(String... args) {
        var r = CliRunner.run(args);
        assertEquals(2, r.code(), () -> String.join(" ", args) + "\n" + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        return r;
    }

    @Test
    void decodeWithTheTinyVaeMatchesDiffusersPipelineImage() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps_taesd.safetensors"));
        Path in = latentsFile("taesd-final.safetensors", g.tensor("final_latents"));
        Path png = dir.resolve("taesd.png"), raw = dir.resolve("taesd-raw.safetensors");
        GenerateCommandTest.ok("decode", "--model", SD2.toString(), "--vae", TAESD.toString(), "--latents", in.toString(),
            "--out", png.toString(), "--raw-out", raw.toString(), "--device", "cpu");
        SafeTensors decoded = SafeTensors.open(raw);
        assertArrayEquals(new int[] {1, 3, 128, 192}, decoded.entry("decoded").intShape());
        double err = maxAbsDiff(decoded.floats("decoded"), g.floats("image_raw"));
        assertTrue(err <= 1e-4, "decoded max-abs " + err);
        assertTrue(pngDiff(png, GOLDEN.resolve("pipeline_ddim_eps_taesd.png")) <= 1);
    }

    @Test
    void decodeWithTheModelsOwnVaeDividesByItsScalingFactor() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps.safetensors"));
        Path in = latentsFile("kl-final.safetensors", g.tensor("final_latents"));
        Path png = dir.resolve("kl.png"), raw = dir.resolve("kl-raw.safetensors");
        GenerateCommandTest.ok("decode", "--model", SD2.toString(), "--latents", in.toString(), "--out", png.toString(),
            "--raw-out", raw.toString(), "--device", "cpu");
        double err = maxAbsDiff(SafeTensors.open(raw).floats("decoded"), g.floats("image_raw"));
        assertTrue(err <= 1e-4, "decoded max-abs " + err);
        assertTrue(pngDiff(png, GOLDEN.resolve("pipeline_ddim_eps.png")) <= 1);
    }

    @Test
    void encodeMatchesDiffusersMeanSampleAndTinyLatents() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("encode_png.safetensors"));
        Path mean = dir.resolve("mean.safetensors"), sample = dir.resolve("sample.safetensors"), tiny = dir.resolve("tiny.safetensors");
        GenerateCommandTest.ok("encode", "--model", SD2.toString(), "--image", GOLDEN.resolve("pipeline_ddim_eps.png").toString(),
            "--out", mean.toString(), "--device", "cpu");
        GenerateCommandTest.ok("encode", "--model", SD2.toString(), "--image", GOLDEN.resolve("pipeline_ddim_eps.png").toString(),
            "--out", sample.toString(), "--sample", "5", "--device", "cpu");
        GenerateCommandTest.ok("encode", "--vae", TAESD.toString(), "--image", GOLDEN.resolve("pipeline_ddim_eps_taesd.png").toString(),
            "--out", tiny.toString(), "--device", "cpu");
        assertTrue(maxAbsDiff(SafeTensors.open(mean).floats("latents"), g.floats("kl_mean")) <= 1e-4);
        assertTrue(maxAbsDiff(SafeTensors.open(sample).floats("latents"), g.floats("kl_sample_seed5")) <= 1e-4);
        assertTrue(maxAbsDiff(SafeTensors.open(tiny).floats("latents"), g.floats("taesd_latents")) <= 1e-4);
        assertArrayEquals(new int[] {1, 4, 16, 24}, SafeTensors.open(tiny).entry("latents").intShape());
    }

    @Test
    void generateWithVaeReproducesDiffusersPipelineWithTheTinyVae() {
        SafeTensors g = SafeTensors.open(GOLDEN.resolve("pipeline_ddim_eps_taesd.safetensors"));
        Path noise = latentsFile("noise.safetensors", g.tensor("init_noise")), out = dir.resolve("gen-taesd.png");
        String prompt = "A Portrait of a Cat, wearing a HAT!!! (oil painting), 4k -- Trending on ArtStation.";
        GenerateCommandTest.ok("generate", "--model", SD2.toString(), "--vae", TAESD.toString(), "--prompt", prompt,
            "--negative-prompt", "", "--steps", "8", "--width", "192", "--height", "128", "--init-latents", noise.toString(),
            "--out", out.toString(), "--device", "cpu");
        assertTrue(pngDiff(out, GOLDEN.resolve("pipeline_ddim_eps_taesd.png")) <= 1);
        assertEquals("tiny-taesd", GenerateCommandTest.pngText(out).get("vae"));
    }

    @Test
    void makeRandomModelWritesAnAutoencoderTinyWhoseTapsAreListed() {
        Path model = dir.resolve("random-tiny-vae");
        GenerateCommandTest.ok("make-random-model", "--config", "tiny", "--vae-kind", "tiny", "--out", model.toString());
        assertEquals(VaeKind.TINY, StableDiffusionPipeline.load(model).vae.kind());
        var taps = GenerateCommandTest.ok("taps", "--model", model.toString(), "--taps", "vae.decoder.*");
        assertTrue(taps.out().contains("vae.decoder.layers.18"), taps.out());
        var kl = GenerateCommandTest.ok("taps", "--model", model.toString(), "--vae", SD2.resolve("vae").toString(), "--taps", "vae.decoder.*");
        assertTrue(kl.out().contains("vae.decoder.up_blocks.0") && !kl.out().contains("vae.decoder.layers."), kl.out());
        fails("make-random-model", "--config", "tiny", "--vae-kind", "small", "--out", dir.resolve("x").toString());
    }

    @Test
    void badInputIsOneLineAndExitCodeTwo() {
        Path wrongName = dir.resolve("wrong-name.safetensors");
        new SafeTensorsWriter().add("z", Tensor.of(new float[4 * 8 * 8], 1, 4, 8, 8)).write(wrongName);
        Path out = dir.resolve("bad.png");
        var r = fails("decode", "--vae", TAESD.toString(), "--latents", wrongName.toString(), "--out", out.toString());
        assertTrue(r.err().contains("no tensor named 'latents'"), r.err());

        float[] v = new float[3 * 8 * 8];
        java.util.Arrays.fill(v, 0.5f);
        r = fails("decode", "--vae", TAESD.toString(), "--latents", latentsFile("c3.safetensors", Tensor.of(v, 1, 3, 8, 8)).toString(),
            "--out", out.toString());
        assertTrue(r.err().contains("expected [B, 4, h, w]"), r.err());
        r = fails("decode", "--vae", TAESD.toString(), "--latents", latentsFile("rank3.safetensors", Tensor.of(v, 3, 8, 8)).toString(),
            "--out", out.toString());
        assertTrue(r.err().contains("shape [3, 8, 8]"), r.err());
        r = fails("decode", "--latents", wrongName.toString(), "--out", out.toString());
        assertTrue(r.err().contains("--model or --vae"), r.err());
        r = fails("encode", "--vae", TAESD.toString(), "--image", GOLDEN.resolve("pipeline_ddim_eps_taesd.png").toString(),
            "--out", dir.resolve("s.safetensors").toString(), "--sample", "1");
        assertTrue(r.err().contains("AutoencoderTiny has no latent distribution"), r.err());
        r = fails("generate", "--model", SD2.toString(), "--vae", dir.resolve("missing").toString(), "--prompt", "x", "--out", out.toString());
        assertTrue(r.err().contains("--vae"), r.err());
        assertFalse(Files.exists(out));
    }
}
