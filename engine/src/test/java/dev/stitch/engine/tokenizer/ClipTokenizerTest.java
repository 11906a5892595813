package dev.stitch.engine.tokenizer;

import dev.stitch.engine.tokenizer.ClipTokenizer.Mode;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipTokenizerTest {

    /** A hand-made vocabulary whose merges can be followed on paper. */
    @Nested
    class Synthetic {
        @TempDir Path dir;

        static final String VOCAB = """
            {"l": 0, "o": 1, "w": 2, "e": 3, "s": 4, "t": 5, "w</w>": 6, "r</w>": 7, "t</w>": 8, "s</w>": 9, "lo": 10,
             "er</w>": 11, "low": 12, "lower</w>": 13, "low</w>": 14, "<|startoftext|>": 15, "<|endoftext|>": 16}
            """;
        /** Ranks 0..4: "lower" must merge l+o, then e+r</w>, then lo+w, then low+er</w>. */
        static final String MERGES = "#version: 0.2\nl o\ne r</w>\nlo w\nlow er</w>\nlo w</w>\n";
        static final String SPECIAL = """
            {"bos_token": {"content": "<|startoftext|>"}, "eos_token": "<|endoftext|>",
             "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
            """;

        ClipTokenizer write(String vocab, String merges, String special, String config) throws IOException {
            if (vocab != null) Files.writeString(dir.resolve("vocab.json"), vocab);
            if (merges != null) Files.writeString(dir.resolve("merges.txt"), merges);
            if (special != null) Files.writeString(dir.resolve("special_tokens_map.json"), special);
            if (config != null) Files.writeString(dir.resolve("tokenizer_config.json"), config);
            return ClipTokenizer.load(dir);
        }

        ClipTokenizer tokenizer() throws IOException { return write(VOCAB, MERGES, SPECIAL, "{\"model_max_length\": 6}"); }

        @Test
        void mergesApplyInRankOrder() throws IOException {
            ClipTokenizer t = tokenizer();
            assertEquals(List.of("lower</w>"), t.tokens("lower", Mode.ORIGINAL));
            assertEquals(List.of("low</w>"), t.tokens("low", Mode.ORIGINAL));
            // every occurrence of the best pair merges, left to right
            assertEquals(List.of("low", "low</w>"), t.tokens("lowlow", Mode.ORIGINAL));
            assertEquals(List.of("s", "t</w>"), t.tokens("st", Mode.ORIGINAL));   // no merge applies
            assertEquals(List.of("s</w>"), t.tokens("s", Mode.ORIGINAL));
        }

        @Test
        void specialIdsAndLengthComeFromTheFiles() throws IOException {
            ClipTokenizer t = tokenizer();
            assertEquals(15, t.bosId());
            assertEquals(16, t.eosId());
            assertEquals(16, t.padId());   // SD1-style: pads with EOS
            assertEquals(6, t.maxLength());
            assertArrayEquals(new int[] {15, 14, 13, 16, 16, 16}, t.encode("Low LOWER"));
            assertEquals(4, t.length(t.encode("low lower")));
        }

        @Test
        void truncationKeepsBosFirstTokensEos() throws IOException {
            ClipTokenizer t = tokenizer();
            assertArrayEquals(new int[] {15, 14, 13, 12, 14, 16}, t.encode("low lower lowlow st"));
        }

        @Test
        void defaultsWhenConfigFilesAreAbsent() throws IOException {
            ClipTokenizer t = write(VOCAB, MERGES, null, null);
            assertEquals(77, t.maxLength());
            assertEquals(16, t.padId());   // transformers' CLIPTokenizer pads with <|endoftext|> by default
        }

        @Test
        void missingOrBrokenFilesAreNamed() throws IOException {
            assertMessage("vocab.json", () -> write(null, MERGES, SPECIAL, null));
            assertMessage("vocab.json", () -> write("{\"a\": 1,", MERGES, SPECIAL, null));
            assertMessage("vocab.json", () -> write("{\"a\": \"one\"}", MERGES, SPECIAL, null));
            assertMessage("vocab.json", () -> write("[1, 2]", MERGES, SPECIAL, null));
            Files.delete(dir.resolve("merges.txt"));
            assertMessage("merges.txt", () -> write(VOCAB, null, SPECIAL, null));
            assertMessage("merges.txt", () -> write(VOCAB, "#version: 0.2\nl o w\n", SPECIAL, null));
            assertMessage("merges.txt", () -> write(VOCAB, "#version: 0.2\nw e\n", SPECIAL, null));   // "we" not in vocab
            assertMessage("'<|pad|>'", () -> write(VOCAB, MERGES, "{\"pad_token\": \"<|pad|>\"}", null));
            assertMessage("pad_token", () -> write(VOCAB, MERGES, "{\"pad_token\": 5}", null));
            assertMessage("tokenizer_config.json", () -> write(VOCAB, MERGES, SPECIAL, "{\"model_max_length\": 1}"));
            assertMessage("special_tokens_map.json", () -> write(VOCAB, MERGES, "{oops", null));
            assertMessage("nowhere", () -> ClipTokenizer.load(dir.resolve("nowhere")));
        }

        @Test
        void damagedFilesGiveShortMessagesThatSayWhatWasExpected() throws IOException {
            String huge = "x".repeat(10_000_000);
            UserError line = assertThrows(UserError.class, () -> write(VOCAB, "#version: 0.2\n" + huge + "\n", SPECIAL, null));
            assertTrue(line.getMessage().length() < 300, "a 10 MB line is quoted in at most ~80 characters, got "
                + line.getMessage().length());
            assertTrue(line.getMessage().contains("merges.txt: line 2 is 'xxx") && line.getMessage().contains("(10000000 characters)"),
                line.getMessage().substring(0, Math.min(300, line.getMessage().length())));
            UserError id = assertThrows(UserError.class, () -> write("{\"a\": \"7\"}", MERGES, SPECIAL, null));
            assertEquals(dir.resolve("vocab.json") + ": token 'a' has id \"7\" (a string), expected an integer from 0 to "
                + ClipTokenizer.MAX_ID, id.getMessage());
            UserError big = assertThrows(UserError.class, () -> write("{\"a\": 2000000000}", MERGES, SPECIAL, null));
            assertTrue(big.getMessage().contains("has id 2000000000, expected an integer from 0"), big.getMessage());
        }

        void assertMessage(String part, org.junit.jupiter.api.function.Executable load) {
            UserError e = assertThrows(UserError.class, load);
            assertTrue(e.getMessage().contains(part), e.getMessage());
        }
    }

    /** Behaviours of the real CLIP vocabulary (from the conformance model). */
    @Nested
    class Sd2 {
        ClipTokenizer t;

        @BeforeEach
        void load() { t = TestTokenizers.sd2(); }

        int count(int[] ids, int id) { return (int) Arrays.stream(ids).filter(x -> x == id).count(); }

        int[] body(int[] ids) { return Arrays.copyOfRange(ids, 1, t.length(ids) - 1); }

        @Test
        void emptyPromptIsBosEosPadding() {
            int[] ids = t.encode("");
            assertEquals(t.maxLength(), ids.length);
            assertEquals(t.bosId(), ids[0]);
            assertEquals(t.eosId(), ids[1]);
            for (int i = 2; i < ids.length; i++) assertEquals(t.padId(), ids[i]);
            assertArrayEquals(ids, t.encode("  \t\n ", Mode.DIFFUSERS));
        }

        @Test
        void longPromptsAreTruncatedTo75Tokens() {
            String prompt = "a very detailed painting of a lighthouse on a cliff at dusk, ".repeat(8);
            List<Integer> all = t.ids(prompt, Mode.ORIGINAL);
            assertTrue(all.size() > 75, "test prompt too short: " + all.size());
            int[] ids = t.encode(prompt);
            assertEquals(t.bosId(), ids[0]);
            assertEquals(t.eosId(), ids[76]);
            assertEquals(77, t.length(ids));
            for (int i = 0; i < 75; i++) assertEquals(all.get(i), ids[i + 1]);
        }

        @Test
        void textIsCleanedBeforeTokenizing() {
            for (Mode m : Mode.values()) {
                assertArrayEquals(t.encode("a photo of a cat", m), t.encode("  A   Photo\tOF\n a CAT ", m), m.name());
                assertArrayEquals(t.encode("it's a fish", m), t.encode("it’s a ﬁsh", m), m.name());   // quotes, ligature
                assertArrayEquals(t.encode("loud noises", m), t.encode("ＬＯＵＤ　ＮＯＩＳＥＳ", m), m.name());
                assertArrayEquals(t.encode("fish & chips", m), t.encode("fish &amp; chips", m), m.name());
            }
        }

        @Test
        void contractionsAreSeparateTokens() {
            assertEquals(List.of("it</w>", "'s</w>", "don</w>", "'t</w>", "we</w>", "'re</w>"), t.tokens("it's DON'T we're", Mode.ORIGINAL));
        }

        @Test
        void emojiAndCjkRoundTripThroughByteLevelBpe() {
            String prompt = "Café crème brûlée 東京の夜 🚀👩‍🚀 한국어 ١٢٣";
            for (Mode m : Mode.values()) {
                int[] body = body(t.encode(prompt, m));
                assertFalse(Arrays.stream(body).anyMatch(id -> id == t.eosId()), "unknown symbols became EOS");
                String back = t.decode(body);
                assertEquals(prompt.toLowerCase(Locale.ROOT).replace(" ", ""), back.replace(" ", ""), m.name());
            }
        }

        @Test
        void originalModeKeepsExclamationMarksAsText() {
            int[] ids = t.encode("a HAT!!! wow!");
            assertEquals(0, count(body(ids), t.padId()));
            assertEquals(List.of("a</w>", "hat</w>", "!!!</w>", "wow</w>", "!</w>"), t.tokens("a HAT!!! wow!", Mode.ORIGINAL));
        }

        @Test
        void diffusersModeTurnsEveryExclamationMarkIntoPad() {
            String prompt = "wow! such!! prompt!!!";
            int[] ids = t.encode(prompt, Mode.DIFFUSERS);
            assertEquals(6, count(body(ids), t.padId()));
            assertEquals(List.of("a</w>", "!", "b</w>"), t.tokens("a!b", Mode.DIFFUSERS));      // pieces end words
            assertEquals(List.of("a</w>", "!</w>", "b</w>"), t.tokens("a!b", Mode.ORIGINAL));
            // A full-width "！" is only folded to "!" by ftfy, after the cut, so it stays text.
            assertEquals(0, count(body(t.encode("wow！", Mode.DIFFUSERS)), t.padId()));
        }

        @Test
        void typedSpecialTokens() {
            // open_clip knows its specials as <start_of_text>/<end_of_text>; transformers by the vocabulary's names.
            assertEquals(0, count(body(t.encode("<|endoftext|> cat", Mode.ORIGINAL)), t.eosId()));
            int[] original = t.encode("<end_of_text> cat", Mode.ORIGINAL);
            assertEquals(2, t.length(original));
            int[] diffusers = t.encode("<|endoftext|> cat", Mode.DIFFUSERS);
            assertEquals(2, t.length(diffusers));
            assertEquals(t.eosId(), diffusers[1]);
        }

        @Test
        void htmlDiffersWhereTheModesDiffer() {
            // ftfy leaves entities alone in text with a raw '<'; open_clip's html.unescape still decodes them.
            assertArrayEquals(t.encode("x < y & z", Mode.ORIGINAL), t.encode("x < y &amp; z", Mode.ORIGINAL));
            assertNotEquals(Arrays.toString(t.encode("x < y & z", Mode.DIFFUSERS)), Arrays.toString(t.encode("x < y &amp; z", Mode.DIFFUSERS)));
            // html.unescape also takes legacy names without ';', ftfy does not
            assertArrayEquals(t.encode("fish & chips", Mode.ORIGINAL), t.encode("fish &amp chips", Mode.ORIGINAL));
            assertNotEquals(Arrays.toString(t.encode("fish & chips", Mode.DIFFUSERS)), Arrays.toString(t.encode("fish &amp chips", Mode.DIFFUSERS)));
        }
    }
}
