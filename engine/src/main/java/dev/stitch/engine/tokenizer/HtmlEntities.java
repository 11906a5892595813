package dev.stitch.engine.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character references, decoded two ways: {@link #unescape} is Python's {@code html.unescape} (what open_clip
 * applies twice after ftfy), {@link #unescapeStrict} is ftfy's {@code unescape_html} (only complete references
 * ending in ';', plus upper-cased names such as {@code &EACUTE;}). The names come from the HTML5 table.
 */
final class HtmlEntities {
    private static final Pattern CHARREF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    private static final Pattern STRICT_REF = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

    /** Name (with or without its ';', as the HTML5 table lists it) to replacement text. */
    private static final Map<String, String> HTML5 = load();
    /** ftfy's table: "&name;" keys only, plus upper-cased variants of lower-case names that mean nothing else. */
    private static final Map<String, String> STRICT = strictTable();

    private HtmlEntities() {}

    /** Python's {@code html.unescape}: every reference the HTML5 spec decodes, including "&amp" without ';'. */
    static String unescape(String s) {
        if (s.indexOf('&') < 0) return s;
        return CHARREF.matcher(s).replaceAll(m -> Matcher.quoteReplacement(replace(m.group(1))));
    }

    /** ftfy's {@code unescape_html}: complete references only, so that "this&not that" stays as it is. */
    static String unescapeStrict(String s) {
        if (s.indexOf('&') < 0) return s;
        return STRICT_REF.matcher(s).replaceAll(m -> {
            String ref = m.group();
            String named = STRICT.get(ref);
            if (named != null) return Matcher.quoteReplacement(named);
            if (ref.startsWith("&#")) {
                String decoded = unescape(ref);
                return Matcher.quoteReplacement(decoded.indexOf(';') >= 0 ? ref : decoded);
            }
            return Matcher.quoteReplacement(ref);
        });
    }

    private static String replace(String ref) {
        if (ref.charAt(0) == '#') {
            boolean hex = ref.charAt(1) == 'x' || ref.charAt(1) == 'X';
            String digits = ref.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) digits = digits.substring(0, digits.length() - 1);
            BigInteger big = new BigInteger(digits, hex ? 16 : 10);
            if (big.bitLength() > 31) return "\ufffd";
            int cp = big.intValue();
            if (cp == 0) return "\ufffd";
            if (cp == 0x0d) return "\r";
            if (cp >= 0x80 && cp <= 0x9f) return String.valueOf(Ftfy.CP1252.charAt(cp - 0x80));  // as Windows-1252
            if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return "\ufffd";
            if (invalidCodePoint(cp)) return "";
            return Character.toString(cp);
        }
        String exact = HTML5.get(ref);
        if (exact != null) return exact;
        // The longest known prefix wins (legacy names need no ';'): "&ampx" is "&x".
        int n = ref.codePointCount(0, ref.length());
        for (int x = n - 1; x > 1; x--) {
            int end = ref.offsetByCodePoints(0, x);
            String v = HTML5.get(ref.substring(0, end));
            if (v != null) return v + ref.substring(end);
        }
        return "&" + ref;
    }

    /** Controls and noncharacters that a numeric reference decodes to nothing. */
    private static boolean invalidCodePoint(int cp) {
        return (cp >= 0x1 && cp <= 0x8) || cp == 0xb || (cp >= 0xe && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f)
            || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
    }

    private static Map<String, String> load() {
        Map<String, String> table = new HashMap<>();
        try (InputStream in = HtmlEntities.class.getResourceAsStream("html5-entities.tsv")) {
            if (in == null) throw new IllegalStateException("resource html5-entities.tsv is missing");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) value.appendCodePoint(Integer.parseInt(hex, 16));
                table.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.copyOf(table);
    }

    private static Map<String, String> strictTable() {
        Map<String, String> table = new HashMap<>();
        for (var e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) continue;
            table.put("&" + name, e.getValue());
            // An upper-cased name is decoded only where it cannot mean another entity (&EACUTE; -> É).
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                if (unescape(upper).equals(upper)) table.put(upper, e.getValue().toUpperCase(Locale.ROOT));
            }
        }
        return Map.copyOf(table);
    }
}
