package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tiny SD2 VAE against diffusers' golden tensors (conformance README (d)), on the reference backend. Each golden
 * call is slow there at 128×192, so encode and decode run once, recording their taps on the way.
 */
class AutoencoderKLGoldenTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final double TOLERANCE = 1e-4;   // README: single calls max-abs <= 1e-4 (float64 noise floor 7.3e-6)

    static AutoencoderKL vae;
    static SafeTensors decodeGolden, encodeGolden;
    static Tensor decoded;
    static DiagonalGaussianDistribution encoded;
    static final Map<String, int[]> decodeTaps = new LinkedHashMap<>(), encodeTaps = new LinkedHashMap<>();

    @BeforeAll
    static void run() {
        assumeTrue(Files.isDirectory(CONFORMANCE.resolve("tiny-sd2/vae")),
            "conformance data not found at " + CONFORMANCE);
        vae = AutoencoderKL.load(CONFORMANCE.resolve("tiny-sd2/vae"));
        decodeGolden = SafeTensors.open(CONFORMANCE.resolve("golden/vae_decode.safetensors"));
        encodeGolden = SafeTensors.open(CONFORMANCE.resolve("golden/vae_encode.safetensors"));
        var ops = ReferenceBackend.INSTANCE;
        decoded = vae.decode(new Ctx(ops, recorder(decodeTaps)), decodeGolden.tensor("z"));
        encoded = vae.encode(new Ctx(ops, recorder(encodeTaps)), encodeGolden.tensor("x"));
    }

    static Taps recorder(Map<String, int[]> into) {
        return (name, layout, value, call) -> {
            if (into.put(name, value.shape()) != null) throw new AssertionError("tap " + name + " called twice");
            return value;
        };
    }

    static void assertClose(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.data(), a = actual.data();
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            assertTrue(Float.isFinite(a[i]), what + ": non-finite value at " + i);
            max = Math.max(max, Math.abs((double) e[i] - a[i]));
        }
        System.out.printf("vae golden %-16s max-abs %.3g%n", what, max);
        assertTrue(max <= TOLERANCE, what + ": max-abs " + max + " > " + TOLERANCE);
    }

    @Test
    void decodeMatchesDiffusers() { assertClose("decode.out", decodeGolden.tensor("out"), decoded); }

    @Test
    void encodeMatchesDiffusers() {
        assertClose("encode.moments", encodeGolden.tensor("moments"), encoded.moments());
        assertClose("encode.mean", encodeGolden.tensor("mean"), encoded.mean());
        assertClose("encode.logvar", encodeGolden.tensor("logvar"), encoded.logvar());
        assertClose("encode.std", encodeGolden.tensor("std"), encoded.std());
    }

    @Test
    void decoderTapsFollowTheModuleTree() {
        List<String> expected = new ArrayList<>(List.of("vae.post_quant_conv", "vae.decoder.conv_in",
            "vae.decoder.mid_block.resnets.0", "vae.decoder.mid_block.attentions.0", "vae.decoder.mid_block.resnets.1",
            "vae.decoder.mid_block"));
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++) expected.add("vae.decoder.up_blocks." + i + ".resnets." + j);
            if (i < 3) expected.add("vae.decoder.up_blocks." + i + ".upsamplers.0");
            expected.add("vae.decoder.up_blocks." + i);
        }
        expected.addAll(List.of("vae.decoder.conv_norm_out", "vae.decoder.conv_out"));
        assertEquals(expected, List.copyOf(decodeTaps.keySet()));
        // up_blocks.0 is the lowest resolution and widest: 16×24 latent → 32×48 after its upsampler.
        assertArrayEquals(new int[]{1, 64, 16, 24}, decodeTaps.get("vae.decoder.mid_block"));
        assertArrayEquals(new int[]{1, 64, 32, 48}, decodeTaps.get("vae.decoder.up_blocks.0"));
        assertArrayEquals(new int[]{1, 32, 128, 192}, decodeTaps.get("vae.decoder.up_blocks.3"));
        assertArrayEquals(new int[]{1, 32, 128, 192}, decodeTaps.get("vae.decoder.conv_norm_out"));
    }

    @Test
    void encoderTapsFollowTheModuleTree() {
        List<String> expected = new ArrayList<>(List.of("vae.encoder.conv_in"));
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) expected.add("vae.encoder.down_blocks." + i + ".resnets." + j);
            if (i < 3) expected.add("vae.encoder.down_blocks." + i + ".downsamplers.0");
            expected.add("vae.encoder.down_blocks." + i);
        }
        expected.addAll(List.of("vae.encoder.mid_block.resnets.0", "vae.encoder.mid_block.attentions.0",
            "vae.encoder.mid_block.resnets.1", "vae.encoder.mid_block", "vae.encoder.conv_norm_out",
            "vae.encoder.conv_out", "vae.quant_conv"));
        assertEquals(expected, List.copyOf(encodeTaps.keySet()));
        // The bottom/right-padded stride-2 convs halve 128×192 exactly.
        assertArrayEquals(new int[]{1, 32, 64, 96}, encodeTaps.get("vae.encoder.down_blocks.0.downsamplers.0"));
        assertArrayEquals(new int[]{1, 64, 16, 24}, encodeTaps.get("vae.encoder.down_blocks.3"));
        assertArrayEquals(new int[]{1, 8, 16, 24}, encodeTaps.get("vae.quant_conv"));
        assertTrue(Arrays.equals(new int[]{1, 8, 16, 24}, encodeTaps.get("vae.encoder.conv_out")));
    }
}
