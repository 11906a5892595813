package dev.stitch.engine.taps;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class TraceWriterTest {
    static final ReferenceBackend OPS = ReferenceBackend.INSTANCE;

    static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesExactValuesShapesAndMetadata(@TempDir Path dir) throws IOException {
        Random r = new Random(8);
        Path out = dir.resolve("trace.safetensors");
        Tensor a = SyntheticModel.random(r, 2, 3, 4, 5), b = SyntheticModel.random(r, 1, 7, 8), empty = Tensor.zeros(0, 3);
        try (TraceWriter w = new TraceWriter(out, Map.of("model", "tiny", "prompt", "a cat", "steps", "2", "seed", "7"))) {
            w.put(new CaptureKey("unet.mid_block", 1, CfgHalf.UNCOND), a);
            w.put(new CaptureKey("text_encoder.text_model.encoder.layers.0", -1, CfgHalf.COND), b);
            w.put("unet.empty/step0/cond", empty);
            assertThrows(IllegalStateException.class, () -> w.put(new CaptureKey("unet.mid_block", 1, CfgHalf.UNCOND), a));
            assertFalse(Files.exists(out), "nothing at the target before commit");
            w.commit();
        }
        assertEquals(List.of("trace.safetensors"), files(dir), "no temporary files left");
        SafeTensors st = SafeTensors.open(out);
        assertEquals(Map.of("model", "tiny", "prompt", "a cat", "steps", "2", "seed", "7"), st.metadata());
        assertEquals(List.of("unet.mid_block/step1/uncond", "text_encoder.text_model.encoder.layers.0/cond", "unet.empty/step0/cond"),
            st.names());
        assertArrayEquals(a.data(), st.floats("unet.mid_block/step1/uncond"));
        assertArrayEquals(new int[] {2, 3, 4, 5}, st.entry("unet.mid_block/step1/uncond").intShape());
        assertArrayEquals(b.data(), st.floats("text_encoder.text_model.encoder.layers.0/cond"));
        assertArrayEquals(new int[] {0, 3}, st.entry("unet.empty/step0/cond").intShape());
    }

    @Test
    void withoutCommitNothingIsWritten(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("trace.safetensors");
        Files.writeString(out, "previous");
        try (TraceWriter w = new TraceWriter(out, Map.of())) {
            w.put("x/step0/cond", SyntheticModel.random(new Random(1), 3, 3));
        }
        assertEquals(List.of("trace.safetensors"), files(dir));
        assertEquals("previous", Files.readString(out), "an abandoned trace leaves the old file alone");
    }

    /** The trace of a guided run: one tensor per (tap, step, half) in full layout, as `stitch trace` writes. */
    @Test
    void tracesAGuidedRun(@TempDir Path dir) {
        SyntheticModel model = new SyntheticModel(2);
        HookedTaps taps = new HookedTaps(OPS);
        Tensor latents = SyntheticModel.random(new Random(3), 1, SyntheticModel.LATENT, SyntheticModel.H, SyntheticModel.W);
        Path out = dir.resolve("t.safetensors");
        Cache check = new Cache();
        try (TraceWriter w = new TraceWriter(out, Map.of("steps", "3"));
             var h = taps.register("unet.*.attn2,unet.up_blocks.*", w.capture(Reduction.NONE).steps(StepSet.parse("0,2")));
             var c = taps.register("unet.*.attn2,unet.up_blocks.*", check.capture(Reduction.NONE).steps(StepSet.parse("0,2")))) {
            model.generate(new Ctx(OPS, taps), latents, SyntheticModel.tokens(0), SyntheticModel.tokens(3), 3);
            w.commit();
        }
        SafeTensors st = SafeTensors.open(out);
        String attn2 = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2";
        assertEquals(List.of(attn2 + "/step0/uncond", attn2 + "/step0/cond", "unet.up_blocks.0/step0/uncond", "unet.up_blocks.0/step0/cond",
            attn2 + "/step2/uncond", attn2 + "/step2/cond", "unet.up_blocks.0/step2/uncond", "unet.up_blocks.0/step2/cond"), st.names());
        assertArrayEquals(new int[] {1, SyntheticModel.C, SyntheticModel.H, SyntheticModel.W}, st.entry("unet.up_blocks.0/step2/cond").intShape());
        for (CaptureKey k : check.keys()) assertArrayEquals(check.get(k).data(), st.floats(k.tensorName()), k.tensorName());
    }

    /**
     * 48 tensors of 1 MB (48 MB) through a JVM with a 16 MB heap: it only succeeds if the writer keeps no numbers.
     */
    @Test
    void streamsFarMoreThanTheHeap(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("big.safetensors");
        int count = 48, floats = 256 * 1024;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx16m", "-cp", System.getProperty("java.class.path"),
            TraceWriterHeapMain.class.getName(), out.toString(), Integer.toString(count), Integer.toString(floats))
            .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "the small-heap writer failed:\n" + log);
        SafeTensors st = SafeTensors.open(out);
        assertEquals(count, st.names().size());
        assertEquals("heap", st.metadata().get("test"));
        for (int k : new int[] {0, 17, count - 1}) {
            float[] got = st.floats("unet.mid_block/step" + k + "/cond");
            assertEquals(floats, got.length);
            for (int i = 0; i < floats; i += 997) assertEquals(TraceWriterHeapMain.value(k, i), got[i], 0f);
            assertEquals(TraceWriterHeapMain.value(k, floats - 1), got[floats - 1], 0f);
        }
        assertEquals(List.of("big.safetensors"), files(dir));
    }
}
