package dev.stitch.engine.tokenizer;

import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * The text fixes of ftfy's {@code fix_text} with its default settings (ftfy 6), which both of SD2's tokenizers run
 * first, minus mojibake repair ({@code fix_encoding}): see docs/tokenizer.md for what is and is not done.
 * Each fix is a static method so it can be tested alone; {@link #fixText} applies them as ftfy does.
 */
public final class Ftfy {
    private Ftfy() {}

    /**
     * ftfy's {@code fix_text}: line by line, every fix in ftfy's order, repeated until nothing changes. HTML
     * references are decoded only until the first line that holds a raw '<' (ftfy then assumes real HTML).
     */
    public static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int nl = text.indexOf('\n', pos);
            int end = nl < 0 ? text.length() : nl + 1;
            String segment = text.substring(pos, end);
            if (segment.indexOf('<') >= 0) unescapeHtml = false;
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    private static String fixSegment(String s, boolean unescapeHtml) {
        while (true) {
            String before = s;
            if (unescapeHtml) s = unescapeHtml(s);
            s = fixC1Controls(s);
            s = fixLatinLigatures(s);
            s = fixCharacterWidth(s);
            s = uncurlQuotes(s);
            s = fixLineBreaks(s);
            s = fixSurrogates(s);
            s = removeTerminalEscapes(s);
            s = removeControlChars(s);
            s = Normalizer.normalize(s, Normalizer.Form.NFC);
            if (s.equals(before)) return s;
        }
    }

    /** Complete HTML character references ({@code &amp;}, {@code &#x2019;}, {@code &EACUTE;}) decoded. */
    public static String unescapeHtml(String s) { return HtmlEntities.unescapeStrict(s); }

    /** C1 controls U+0080..U+009F read as the Windows-1252 characters they stand for, as browsers do. */
    public static String fixC1Controls(String s) {
        return map(s, c -> c >= 0x80 && c <= 0x9f ? String.valueOf(CP1252.charAt(c - 0x80)) : null);
    }

    /** Latin typographic ligatures and digraphs split into their letters (ﬁ → fi, Ĳ → IJ). */
    public static String fixLatinLigatures(String s) {
        return map(s, c -> switch (c) {
            case 'Ĳ' -> "IJ";
            case 'ĳ' -> "ij";
            case 'ŉ' -> "\u02bcn";
            case 'Ǳ' -> "DZ";
            case 'ǲ' -> "Dz";
            case 'ǳ' -> "dz";
            case 'Ǆ' -> "DŽ";
            case 'ǅ' -> "Dž";
            case 'ǆ' -> "dž";
            case 'Ǉ' -> "LJ";
            case 'ǈ' -> "Lj";
            case 'ǉ' -> "lj";
            case 'Ǌ' -> "NJ";
            case 'ǋ' -> "Nj";
            case 'ǌ' -> "nj";
            case 'ﬀ' -> "ff";
            case 'ﬁ' -> "fi";
            case 'ﬂ' -> "fl";
            case 'ﬃ' -> "ffi";
            case 'ﬄ' -> "ffl";
            case 'ﬅ' -> "ſt";
            case 'ﬆ' -> "st";
            default -> null;
        });
    }

    /** Full-width and half-width forms (U+FF01..U+FFEF) to their NFKC form, and U+3000 to a plain space. */
    public static String fixCharacterWidth(String s) {
        return map(s, c -> c == 0x3000 ? " " : c >= 0xFF01 && c < 0xFFF0 ? WIDTH[c - 0xFF01] : null);
    }

    /** Curly single quotes (and ʼ) to ', curly double quotes to ". */
    public static String uncurlQuotes(String s) {
        return map(s, c -> c == 0x02bc || (c >= 0x2018 && c <= 0x201b) ? "'" : c >= 0x201c && c <= 0x201f ? "\"" : null);
    }

    /** CRLF, CR, U+2028, U+2029 and U+0085 to \n. */
    public static String fixLineBreaks(String s) {
        return s.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n')
            .replace('\u0085', '\n');
    }

    /** Unpaired UTF-16 surrogates to U+FFFD (paired ones already are the characters they encode). */
    public static String fixSurrogates(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean lone;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                if (out != null) out.append(c).append(s.charAt(i + 1));
                i++;
                continue;
            }
            lone = Character.isSurrogate(c);
            if (lone && out == null) out = new StringBuilder(s.length()).append(s, 0, i);
            if (out != null) out.append(lone ? '\ufffd' : c);
        }
        return out == null ? s : out.toString();
    }

    /** ANSI terminal escapes such as ESC[31m removed. */
    public static String removeTerminalEscapes(String s) {
        return s.indexOf('\u001b') < 0 ? s : ANSI.matcher(s).replaceAll("");
    }

    /**
     * Control characters nobody means to type removed: C0 controls except \t \n \f \r, DEL, the deprecated
     * Arabic format controls U+206A..U+206F, the BOM U+FEFF and U+FFF9..U+FFFC. Joiners, bidi marks and C1 stay.
     */
    public static String removeControlChars(String s) {
        return map(s, c -> (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f || (c >= 0x206a && c <= 0x206f)
            || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc)) ? "" : null);
    }

    // ---- tables --------------------------------------------------------------------------------------------

    /** Windows-1252's characters for bytes 0x80..0x9F (the five it leaves undefined stay as they are). */
    static final String CP1252 =
        "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f"
            + "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

    /** Python's {@code \d} matches any decimal digit, hence \p{Nd}. */
    private static final Pattern ANSI = Pattern.compile("\u001b\\[(?:\\p{Nd}|;)*[a-zA-Z]");

    private static final String[] WIDTH = new String[0xFFF0 - 0xFF01];

    static {
        for (int c = 0xFF01; c < 0xFFF0; c++) {
            String ch = String.valueOf((char) c), nfkc = Normalizer.normalize(ch, Normalizer.Form.NFKC);
            WIDTH[c - 0xFF01] = nfkc.equals(ch) ? null : nfkc;
        }
    }

    private interface CharMap { String apply(char c); }

    /** s with each char c replaced by f(c), or kept where f gives null; s itself when nothing changes. */
    private static String map(String s, CharMap f) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = f.apply(c);
            if (r != null && out == null) out = new StringBuilder(s.length()).append(s, 0, i);
            if (out != null) {
                if (r != null) out.append(r);
                else out.append(c);
            }
        }
        return out == null ? s : out.toString();
    }
}
