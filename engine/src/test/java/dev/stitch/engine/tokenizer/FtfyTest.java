package dev.stitch.engine.tokenizer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Each ftfy fix alone, then fix_text as a whole; expected strings are what ftfy 6 gives for the same input. */
class FtfyTest {
    @Test
    void htmlReferencesAreDecodedOnlyWhenComplete() {
        assertEquals("<tag>", Ftfy.unescapeHtml("&lt;tag&gt;"));
        assertEquals("PÉREZ", Ftfy.unescapeHtml("P&EACUTE;REZ"));          // upper-cased names of lower-case entities
        assertEquals("this&not that", Ftfy.unescapeHtml("this&not that"));   // no ';': left alone (html.unescape would not)
        assertEquals("🚀 😀", Ftfy.unescapeHtml("&#x1F680; &#128512;"));
        assertEquals("\ufffd €", Ftfy.unescapeHtml("&#0; &#x80;"));          // NUL → U+FFFD, 0x80 read as Windows-1252
        assertEquals("&ampx &amp", Ftfy.unescapeHtml("&ampx &amp"));
    }

    @Test
    void htmlIsLeftAloneFromTheFirstLineWithARawLessThan() {
        assertEquals("a < b &amp; c", Ftfy.fixText("a < b &amp; c"));
        assertEquals("x &\ny < z &amp;\nw &amp;", Ftfy.fixText("x &amp;\ny < z &amp;\nw &amp;"));
        assertEquals("&", Ftfy.fixText("&amp;amp;"));   // fixes repeat until nothing changes
    }

    @Test
    void c1ControlsAreWindows1252() {
        assertEquals("€uro ’s \u0081", Ftfy.fixC1Controls("\u0080uro \u0092s \u0081"));   // 0x81 is undefined there
        assertEquals("€uro 's \u0081", Ftfy.fixText("\u0080uro \u0092s \u0081"));
    }

    @Test
    void latinLigaturesAreSplit() {
        assertEquals("fi fi ff ffi ffl ſt st IJ ij DŽ Dž dž LJ Lj lj NJ Nj nj",
            Ftfy.fixLatinLigatures("fi ﬁ ﬀ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ"));
        assertEquals("\u02bcn", Ftfy.fixLatinLigatures("ŉ"));
        assertEquals("'n", Ftfy.fixText("ŉ"));   // and the modifier apostrophe is then uncurled
    }

    @Test
    void fullAndHalfWidthFormsAreFolded() {
        assertEquals("LOUD NOISES", Ftfy.fixCharacterWidth("ＬＯＵＤ\u3000ＮＯＩＳＥＳ"));
        assertEquals("123 ¥ ₩ 。 ・", Ftfy.fixCharacterWidth("１２３ ￥ ￦ ｡ ･"));
        assertEquals("ヴァー", Ftfy.fixText("ｳﾞｧｰ"));   // the half-width voiced mark composes under NFC
    }

    @Test
    void curlyQuotesAreStraightened() {
        assertEquals("\"Hi\" 'there' 'low' \"x\" '", Ftfy.uncurlQuotes("“Hi” ‘there’ ‚low‛ „x‟ ʼ"));
    }

    @Test
    void lineBreaksAreUnix() {
        assertEquals("a\nb\nc\nd\ne\nf", Ftfy.fixLineBreaks("a\r\nb\rc\u2028d\u2029e\u0085f"));
        assertEquals("a\nb\nc\nd\ne…f", Ftfy.fixText("a\r\nb\rc\u2028d\u2029e\u0085f"));   // U+0085 is a C1 control first
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertEquals("a\ufffdb\ufffd", Ftfy.fixSurrogates("a\udc00b\ud83d"));
        String pair = "x🚀y";
        assertSame(pair, Ftfy.fixSurrogates(pair));
    }

    @Test
    void terminalEscapesAndControlCharactersGo() {
        assertEquals("blue", Ftfy.removeTerminalEscapes("\u001b[36;44mblue\u001b[0m"));
        assertEquals("bomnuldel\u200dzwj\u200frlm\fff\ttab\n\r",
            Ftfy.removeControlChars("\ufeffbom\u0000nul\u007fdel\u200dzwj\u200frlm\fff\ttab\n\r"));
        assertEquals("ab", Ftfy.removeControlChars("\u206aa\ufff9\ufffcb\u000b"));
    }

    @Test
    void textIsNfcNormalised() {
        assertEquals("café", Ftfy.fixText("cafe\u0301"));
        assertEquals("Broken text… it's flubberific!", Ftfy.fixText("Broken text&hellip; it&#x2019;s ﬂubberiﬁc!"));
    }

    @Test
    void cleanTextIsUnchanged() {
        String s = "Café crème brûlée:  東京 at night 🚀 -- it's   DON'T   stop!";
        assertEquals(s, Ftfy.fixText(s));
        assertEquals("", Ftfy.fixText(""));
    }
}
