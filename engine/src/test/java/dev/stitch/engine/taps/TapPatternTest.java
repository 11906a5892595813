package dev.stitch.engine.taps;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class TapPatternTest {
    static final String ATTN2 = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2";

    @Test
    void starMatchesAnyRunIncludingDots() {
        TapPattern p = TapPattern.of("unet.*.attn2");
        assertTrue(p.matches(ATTN2));
        assertTrue(p.matches("unet.mid_block.attentions.0.transformer_blocks.0.attn2"));
        assertFalse(p.matches("unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1"));
        assertFalse(p.matches(ATTN2 + ".to_out.0"), "a glob matches whole names");
        assertFalse(p.matches("text_encoder." + ATTN2));
    }

    @Test
    void trailingStarSelectsASubtreeButNotItsRoot() {
        TapPattern p = TapPattern.of("unet.up_blocks.*");
        assertTrue(p.matches("unet.up_blocks.0"));
        assertTrue(p.matches("unet.up_blocks.2.resnets.1"));
        assertFalse(p.matches("unet.up_blocks"));
        assertFalse(p.matches("unet.down_blocks.0"));
    }

    @Test
    void questionMarkIsOneCharacterAndDotsAreLiteral() {
        TapPattern p = TapPattern.of("unet.down_blocks.?");
        assertTrue(p.matches("unet.down_blocks.1"));
        assertFalse(p.matches("unet.down_blocks.10"));
        assertFalse(p.matches("unet.down_blocks.1.resnets.0"));
        TapPattern exact = TapPattern.of("unet.mid_block");
        assertTrue(exact.matches("unet.mid_block"));
        assertFalse(exact.matches("unetXmid_block"));
        assertFalse(TapPattern.isWildcard("unet.mid_block"));
    }

    @Test
    void commasSeparateAlternatives() {
        TapPattern p = TapPattern.of("unet.mid_block, unet.up_blocks.*");
        assertEquals(2, p.globs().size());
        assertTrue(p.matches("unet.mid_block"));
        assertTrue(p.matches("unet.up_blocks.1"));
        assertFalse(p.matches("unet.conv_in"));
        assertThrows(UserError.class, () -> TapPattern.of("unet.mid_block,,unet.conv_in"));
        assertThrows(UserError.class, () -> TapPattern.of(""));
    }

    /** Random globs and names over a tiny alphabet (so that matches happen), checked against java.util.regex. */
    @Test
    void agreesWithARegexOracle() {
        Random r = new Random(5);
        int matches = 0;
        for (int t = 0; t < 20000; t++) {
            String g = randomString(r, "ab.*?", 1 + r.nextInt(6)), s = randomString(r, "ab.", r.nextInt(8));
            StringBuilder re = new StringBuilder();
            for (char ch : g.toCharArray())
                re.append(ch == '*' ? ".*" : ch == '?' ? "." : Pattern.quote(String.valueOf(ch)));
            boolean expected = Pattern.compile(re.toString(), Pattern.DOTALL).matcher(s).matches();
            assertEquals(expected, TapPattern.globMatches(g, s), g + " vs " + s);
            assertEquals(expected, TapPattern.distance(g, s) == 0, "distance 0 exactly on a match: " + g + " vs " + s);
            if (expected) matches++;
        }
        assertTrue(matches > 1000, "the random cases should include many matches, got " + matches);
    }

    @Test
    void distanceIsLevenshteinForExactNames() {
        assertEquals(3, TapPattern.distance("kitten", "sitting"));
        assertEquals(1, TapPattern.distance("unet.mid_blok", "unet.mid_block"));
        assertEquals(0, TapPattern.distance("unet.*", "unet.mid_block"));
        assertEquals(1, TapPattern.distance("unet.*.atn2", ATTN2));
    }

    private static String randomString(Random r, String alphabet, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        return b.toString();
    }
}
