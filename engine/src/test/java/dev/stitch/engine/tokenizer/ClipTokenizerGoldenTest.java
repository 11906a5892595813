package dev.stitch.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.tokenizer.ClipTokenizer.Mode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The six conformance prompts, tokenized both ways, against the ids open_clip and transformers produced. */
class ClipTokenizerGoldenTest {
    static final Path CONFORMANCE = TestTokenizers.CONFORMANCE;

    static ClipTokenizer tokenizer;
    static String[] prompts;
    static SafeTensors golden;

    @BeforeAll
    static void load() throws IOException {
        assumeTrue(Files.isDirectory(CONFORMANCE), "conformance data not found at " + CONFORMANCE + ": golden tokenizer tests skipped");
        tokenizer = TestTokenizers.sd2();
        prompts = new ObjectMapper().readValue(CONFORMANCE.resolve("golden/prompts.json").toFile(), String[].class);
        golden = SafeTensors.open(CONFORMANCE.resolve("golden/tokenizer.safetensors"));
    }

    private static int[] row(String tensor, int i) {
        long[] all = golden.longs(tensor);
        int len = golden.entry(tensor).intShape()[1];
        return Arrays.stream(all, i * len, (i + 1) * len).mapToInt(Math::toIntExact).toArray();
    }

    @Test
    void specialIdsComeFromTheFiles() {
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(0, tokenizer.padId());
        assertEquals(77, tokenizer.maxLength());
    }

    @Test
    void originalModeMatchesOpenClip() {
        assertEquals(6, prompts.length);
        for (int i = 0; i < prompts.length; i++)
            assertArrayEquals(row("input_ids", i), tokenizer.encode(prompts[i], Mode.ORIGINAL), "prompt " + i + ": " + prompts[i]);
    }

    @Test
    void diffusersModeMatchesTransformers() {
        for (int i = 0; i < prompts.length; i++)
            assertArrayEquals(row("diffusers_input_ids", i), tokenizer.encode(prompts[i], Mode.DIFFUSERS), "prompt " + i + ": " + prompts[i]);
    }

    @Test
    void lengthsIncludeBosAndEos() {
        long[] lengths = golden.longs("lengths_incl_bos_eos");
        for (int i = 0; i < prompts.length; i++)
            assertEquals(lengths[i], tokenizer.length(tokenizer.encode(prompts[i])), "prompt " + i);
    }

    @Test
    void defaultModeIsOriginal() {
        for (String p : prompts) assertArrayEquals(tokenizer.encode(p, Mode.ORIGINAL), tokenizer.encode(p));
    }
}
