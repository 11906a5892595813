package dev.stitch.engine.tokenizer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Python's html.unescape, which open_clip applies twice after ftfy. */
class HtmlEntitiesTest {
    @Test
    void namedReferencesIncludingLegacyOnesWithoutSemicolon() {
        assertEquals("& < > \" ' \u00a0", HtmlEntities.unescape("&amp; &lt; &gt; &quot; &apos; &nbsp;"));
        assertEquals("& ¬it; ∉ &x", HtmlEntities.unescape("&amp &notit; &notin; &ampx"));   // longest known prefix
        assertEquals("&nosuch; &", HtmlEntities.unescape("&nosuch; &"));
        assertEquals("≂̸", HtmlEntities.unescape("&NotEqualTilde;"));                        // two code points
    }

    @Test
    void numericReferencesFollowTheHtml5Rules() {
        assertEquals("A A 🚀", HtmlEntities.unescape("&#65; &#x41 &#x1F680;"));
        assertEquals("\ufffd € \ufffd \ufffd \ufffd", HtmlEntities.unescape("&#0; &#x80; &#xD800; &#x110000; &#99999999999999999999;"));
        assertEquals("x y", HtmlEntities.unescape("&#1;x &#xFFFE;y"));   // controls and noncharacters vanish
        assertEquals("\r", HtmlEntities.unescape("&#13;"));
    }

    @Test
    void unescapingTwiceDecodesDoubleEscapes() {
        assertEquals("&lt;", HtmlEntities.unescape("&amp;lt;"));
        assertEquals("<", HtmlEntities.unescape(HtmlEntities.unescape("&amp;lt;")));
    }

    @Test
    void strictFormNeedsTheSemicolon() {
        assertEquals("&amp &notit; ∉", HtmlEntities.unescapeStrict("&amp &notit; &notin;"));
        assertEquals("É Ñ", HtmlEntities.unescapeStrict("&EACUTE; &NTILDE;"));
        assertEquals("&#xZZ;", HtmlEntities.unescapeStrict("&#xZZ;"));
    }
}
