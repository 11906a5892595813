package dev.stitch.engine.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.engine.tokenizer.TestTokenizers;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The tiny SD2 text encoder against transformers' last_hidden_state for the six conformance prompts. */
class ClipTextModelGoldenTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Ctx CTX = new Ctx(ReferenceBackend.INSTANCE);

    static ClipTextModel model;
    static SafeTensors golden;
    static int[][] ids;
    static float[] expected;

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(CONFORMANCE), "conformance data not found at " + CONFORMANCE + ": golden text encoder tests skipped");
        model = ClipTextModel.load(CONFORMANCE.resolve("tiny-sd2/text_encoder"));
        golden = SafeTensors.open(CONFORMANCE.resolve("golden/text_encoder.safetensors"));
        int[] shape = golden.entry("input_ids").intShape();
        long[] flat = golden.longs("input_ids");
        ids = new int[shape[0]][shape[1]];
        for (int i = 0; i < flat.length; i++) ids[i / shape[1]][i % shape[1]] = Math.toIntExact(flat[i]);
        expected = golden.floats("last_hidden_state");
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            assertTrue(Float.isFinite(a[i]), "non-finite output at " + i);
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void lastHiddenStateMatchesGolden() {
        Tensor out = model.forward(CTX, ids);
        assertArrayEquals(golden.entry("last_hidden_state").intShape(), out.shape());
        double err = maxAbs(out.data(), expected);
        System.out.printf("text encoder vs golden last_hidden_state: max abs %.3g%n", err);
        assertTrue(err <= 1e-4, "max abs " + err);
        // The unused 4th resblock of the original checkpoint gives a clearly different result.
        double wrong = maxAbs(out.data(), golden.floats("ldm_layer_last_NOT_USED_BY_SD2"));
        assertTrue(wrong > 1e-2, "output is as close to the skipped-layer result as to the right one: " + wrong);
    }

    @Test
    void promptStringsThroughTokenizerGiveTheSame() throws IOException {
        ClipTokenizer tok = TestTokenizers.sd2();
        String[] prompts = new ObjectMapper().readValue(CONFORMANCE.resolve("golden/prompts.json").toFile(), String[].class);
        int[][] fromText = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) fromText[i] = tok.encode(prompts[i]);
        double err = maxAbs(model.forward(CTX, fromText).data(), expected);
        assertTrue(err <= 1e-4, "max abs " + err);
    }

    @Test
    void pooledIsTheEosRow() {
        Tensor hidden = model.forward(CTX, ids);
        Tensor pooled = model.pool(CTX, hidden, ids);
        int c = model.config.hiddenSize(), l = ids[0].length;
        assertArrayEquals(new int[] {ids.length, c}, pooled.shape());
        float[] p = pooled.data(), h = hidden.data();
        for (int b = 0; b < ids.length; b++) {
            int eos = 0;
            while (ids[b][eos] != 49407) eos++;
            for (int k = 0; k < c; k++) assertEquals(h[(b * l + eos) * c + k], p[b * c + k], "row " + b);
        }
        assertArrayEquals(p, model.pooled(CTX, ids).data());
    }
}
