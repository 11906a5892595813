package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Loading the VAE from what users have: wrong files, legacy attention names, the fp16 variant. */
class AutoencoderKLLoadTest {
    static final Path VAE = AutoencoderKLGoldenTest.CONFORMANCE.resolve("tiny-sd2/vae");
    static final Ctx CTX = new Ctx(ReferenceBackend.INSTANCE);

    static VaeConfig config;
    static Map<String, Tensor> tensors;
    static Tensor z;          // a small random latent: decoding it is 16× cheaper than the golden one
    static Tensor reference;  // its decoding by the model as shipped

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(VAE), "conformance data not found at " + VAE);
        config = VaeConfig.load(VAE.resolve("config.json"));
        SafeTensors file = SafeTensors.open(VAE.resolve(AutoencoderKL.WEIGHTS));
        tensors = new LinkedHashMap<>();
        for (String n : file.names()) tensors.put(n, file.tensor(n));
        Random r = new Random(11);
        float[] zd = new float[4 * 4 * 6];
        for (int i = 0; i < zd.length; i++) zd[i] = (float) r.nextGaussian();
        z = Tensor.of(zd, 1, 4, 4, 6);
        reference = build(tensors).decode(CTX, z);
    }

    static AutoencoderKL build(Map<String, Tensor> t) { return new AutoencoderKL(config, Weights.of("vae", "test weights", t)); }

    static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    @Test
    void wrongShapedWeightIsNamed() {
        var t = new LinkedHashMap<>(tensors);
        String name = "decoder.up_blocks.1.resnets.0.conv1.weight";   // [32, 64, 3, 3] in the file
        t.put(name, random(1, 32, 32, 3, 3));
        UserError e = assertThrows(UserError.class, () -> build(t));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("[32, 64, 3, 3]"), e.getMessage());
    }

    @Test
    void wrongShapedAttentionWeightIsNamed() {
        var t = new LinkedHashMap<>(tensors);
        String name = "encoder.mid_block.attentions.0.to_k.weight";
        t.put(name, random(2, 64, 32));
        UserError e = assertThrows(UserError.class, () -> build(t));
        assertTrue(e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void missingWeightIsNamed() {
        var t = new LinkedHashMap<>(tensors);
        t.remove("post_quant_conv.bias");
        UserError e = assertThrows(UserError.class, () -> build(t));
        assertTrue(e.getMessage().contains("post_quant_conv.bias"), e.getMessage());
    }

    @Test
    void unusedTensorsAreListed() {
        var t = new LinkedHashMap<>(tensors);
        t.put("decoder.up_blocks.0.attentions.0.proj.weight", random(3, 64, 64));
        t.put("encoder.extra", random(4, 2));
        UserError e = assertThrows(UserError.class, () -> build(t));
        assertTrue(e.getMessage().contains("decoder.up_blocks.0.attentions.0.proj.weight")
            && e.getMessage().contains("encoder.extra"), e.getMessage());
    }

    @Test
    void legacyAttentionNamesAndConvShapesGiveTheSameModel() {
        Map<String, String> legacy = Map.of("to_q", "query", "to_k", "key", "to_v", "value", "to_out.0", "proj_attn");
        var t = new LinkedHashMap<String, Tensor>();
        int renamed = 0;
        for (var e : tensors.entrySet()) {
            String n = e.getKey();
            Tensor v = e.getValue();
            for (var l : legacy.entrySet()) {
                String from = ".attentions.0." + l.getKey() + ".";
                if (n.contains(from)) {
                    n = n.replace(from, ".attentions.0." + l.getValue() + ".");
                    if (n.endsWith(".weight")) v = v.reshape(v.dim(0), v.dim(1), 1, 1);   // as a 1×1 conv
                    renamed++;
                }
            }
            t.put(n, v);
        }
        assertEquals(16, renamed);
        Tensor out = build(t).decode(CTX, z);
        assertArrayEquals(reference.data(), out.data());
    }

    @Test
    void loadsTheFp16VariantWhenItIsTheOnlyFile(@TempDir Path dir) throws Exception {
        Files.copy(VAE.resolve("config.json"), dir.resolve("config.json"));
        var w = new SafeTensorsWriter();
        tensors.forEach((n, v) -> w.add(n, v, DType.F16));
        w.write(dir.resolve(AutoencoderKL.WEIGHTS_FP16));
        AutoencoderKL half = AutoencoderKL.load(dir);
        assertEquals(DType.F16, half.decoder.convIn.weight.dtype());
        // The tiny model's weights are all exactly representable in f16, so the same numbers must come out.
        assertArrayEquals(reference.data(), half.decode(CTX, z).data());
    }

    @Test
    void folderWithoutWeightsIsAUserError(@TempDir Path dir) throws Exception {
        Files.copy(VAE.resolve("config.json"), dir.resolve("config.json"));
        UserError e = assertThrows(UserError.class, () -> AutoencoderKL.load(dir));
        assertTrue(e.getMessage().contains(AutoencoderKL.WEIGHTS), e.getMessage());
    }

    @Test
    void encodeThenDecodeKeepsShapes() {
        Tensor x = random(5, 1, 3, 32, 48);
        DiagonalGaussianDistribution d = build(tensors).encode(CTX, x);
        assertArrayEquals(new int[]{1, 4, 4, 6}, d.mean().shape());
        Tensor sample = d.sample(CTX, random(6, 1, 4, 4, 6));
        float[] m = d.mean().data(), s = d.std().data(), n = random(6, 1, 4, 4, 6).data(), out = sample.data();
        for (int i = 0; i < m.length; i++) assertEquals(m[i] + s[i] * n[i], out[i], 1e-6f);
    }
}
