package dev.stitch.engine.random;

import dev.stitch.engine.io.SafeTensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TorchGenerator against tensors that PyTorch 1.13.1 drew on the CPU (the conformance goldens). */
class TorchGeneratorTest {
    private static final Path GOLDEN = Path.of(System.getProperty("stitch.conformance", "../conformance")).resolve("golden");

    private static SafeTensors golden(String file) {
        Assumptions.assumeTrue(Files.isDirectory(GOLDEN), "conformance goldens not found at " + GOLDEN + "; skipping");
        return SafeTensors.open(GOLDEN.resolve(file));
    }

    /** Bit-for-bit equality, reporting the first differing element and its distance in ulps. */
    private static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), what + "[" + i + "] is not finite");
            int e = Float.floatToRawIntBits(expected[i]), a = Float.floatToRawIntBits(actual[i]);
            if (e != a)
                throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i] + " (" + Math.abs(e - a) + " ulp)");
        }
    }

    @Test
    void pipelineInitNoiseIsRandnSeed42() {
        float[] expected = golden("pipeline_ddim_eps.safetensors").floats("init_noise");
        assertBits(expected, new TorchGenerator(42).randn(1 * 4 * 16 * 24), "init_noise");
    }

    @Test
    void unetInputsContinueOneGenerator() {
        SafeTensors a = golden("unet_A.safetensors"), b = golden("unet_B.safetensors");
        TorchGenerator g = new TorchGenerator(43);
        assertBits(a.floats("sample"), g.randn(2 * 4 * 16 * 24), "unet_A.sample");
        assertBits(b.floats("sample"), g.randn(1 * 4 * 16 * 24), "unet_B.sample");
        assertBits(b.floats("encoder_hidden_states"), g.randn(77 * 32), "unet_B.encoder_hidden_states");
    }

    @Test
    void vaeInputsAreRandnThenRand() {
        TorchGenerator g = new TorchGenerator(44);
        assertBits(golden("vae_decode.safetensors").floats("z"), g.randn(4 * 16 * 24), "vae_decode.z");
        float[] x = g.rand(3 * 128 * 192);
        for (int i = 0; i < x.length; i++) x[i] = x[i] * 2f - 1f;  // torch.rand(...) * 2 - 1
        assertBits(golden("vae_encode.safetensors").floats("x"), x, "vae_encode.x");
    }

    /**
     * Fewer than 16 values take torch's scalar double path, which keeps the second value of each Box-Muller pair for
     * the next call. Expected values printed by PyTorch 1.13.1:
     * {@code g = torch.Generator().manual_seed(0); torch.randn(5, generator=g); torch.randn(3, generator=g); torch.randn(1, generator=g)}.
     */
    @Test
    void smallTensorsUseTheScalarPathAndItsCache() {
        TorchGenerator g = new TorchGenerator(0);
        assertBits(new float[] {0x1.8a7eb8p+0f, -0x1.2c78ap-2f, -0x1.16e292p+1f, 0x1.23096cp-1f, -0x1.15a342p+0f}, g.randn(5), "randn(5)");
        assertBits(new float[] {-0x1.660a5ap+0f, 0x1.9d06f4p-2f, 0x1.ad11cap-1f}, g.randn(3), "randn(3)");
        assertBits(new float[] {-0x1.704288p-1f}, g.randn(1), "randn(1)");
    }

    /** A count that is not a multiple of 16 redraws the last 16 uniforms (PyTorch 1.13.1, seed 2024, randn(20)). */
    @Test
    void partialLastBlockIsRecomputed() {
        float[] x = new TorchGenerator(2024).randn(20);
        assertBits(new float[] {-0x1.3e08dp-4f, -0x1.1e1746p+0f, -0x1.4bd46ep-1f, 0x1.4e57e8p-1f},
            java.util.Arrays.copyOfRange(x, 16, 20), "randn(20)[16:20]");
    }

    @Test
    void reseedingRestartsTheSequence() {
        TorchGenerator g = new TorchGenerator(5);
        float[] first = g.randn(7);
        g.randn(100);
        assertBits(first, g.manualSeed(5).randn(7), "after manualSeed");
        assertEquals(new TorchGenerator(5).nextInt32(), new TorchGenerator(5L + (1L << 32)).nextInt32(), "only the low 32 bits of a seed count");
    }
}
