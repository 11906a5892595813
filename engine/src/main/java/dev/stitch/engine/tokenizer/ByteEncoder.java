package dev.stitch.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's {@code bytes_to_unicode}: each of the 256 byte values is written as one printable character, so that
 * byte-level BPE can work on strings. Printable Latin-1 bytes map to themselves; the other 68 bytes (controls,
 * space, DEL, NBSP, soft hyphen…) map to U+0100 onwards in byte order.
 */
final class ByteEncoder {
    private static final char[] TABLE = new char[256];
    private static final int[] BYTE_OF = new int[256 + 68];

    static {
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            TABLE[b] = (char) (printable ? b : next++);
            BYTE_OF[TABLE[b]] = b;
        }
    }

    private ByteEncoder() {}

    /** The UTF-8 bytes of {@code text}, one character per byte. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = TABLE[bytes[i] & 0xff];
        return new String(out);
    }

    /** The inverse of {@link #encode}: each character's byte appended to {@code out}. */
    static void decode(String symbols, ByteArrayOutputStream out) {
        for (int i = 0; i < symbols.length(); i++) {
            char c = symbols.charAt(i);
            if (c >= BYTE_OF.length || c != TABLE[BYTE_OF[c]]) throw new IllegalArgumentException("not a byte symbol: '" + c + "'");
            out.write(BYTE_OF[c]);
        }
    }
}
