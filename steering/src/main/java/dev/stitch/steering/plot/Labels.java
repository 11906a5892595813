package dev.stitch.steering.plot;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Draws short labels on plots and grids: with the system's fonts when Java finds any, else with a built-in 5×7
 * bitmap font (upper case, digits, common punctuation), so that a machine without fonts (a slim container) still
 * gets readable labels instead of a crash.
 */
final class Labels {
    private Labels() {}

    static { System.setProperty("java.awt.headless", "true"); }

    /** Whether system fonts render here; decided once. Tests may force the bitmap font. */
    static volatile Boolean systemFonts;

    static boolean systemFonts() {
        Boolean s = systemFonts;
        if (s == null) {
            try {
                s = GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames().length > 0;
            } catch (Throwable t) {   // no fontconfig or no font files: an Error from the font system
                s = false;
            }
            systemFonts = s;
        }
        return s;
    }

    /** Draws {@code text} with its baseline at y, about {@code size} pixels tall. */
    static void draw(Graphics2D g, String text, int x, int y, int size, Color color) {
        g.setColor(color);
        if (systemFonts()) {
            try {
                g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
                g.setFont(font(size));
                g.drawString(text, x, y);
                return;
            } catch (Throwable t) {
                systemFonts = false;
            }
        }
        int scale = scale(size);
        int cx = x;
        for (char c : text.toUpperCase(Locale.ROOT).toCharArray()) {
            int[] rows = glyph(c);
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if ((rows[r] >> (4 - b) & 1) != 0) g.fillRect(cx + b * scale, y - (7 - r) * scale, scale, scale);
            cx += 6 * scale;
        }
    }

    /** The width {@code text} takes when drawn at {@code size}. */
    static int width(Graphics2D g, String text, int size) {
        if (systemFonts()) {
            try {
                FontMetrics m = g.getFontMetrics(font(size));
                return m.stringWidth(text);
            } catch (Throwable t) {
                systemFonts = false;
            }
        }
        return text.length() * 6 * scale(size);
    }

    private static Font font(int size) { return new Font(Font.SANS_SERIF, Font.PLAIN, size); }

    private static int scale(int size) { return Math.max(1, Math.round(size / 9f)); }

    // 5×7 glyphs, one byte per row, bit 4 the leftmost pixel.
    private static final Map<Character, int[]> GLYPHS = new HashMap<>();

    private static void put(String chars, String... hexRows) {
        for (int i = 0; i < chars.length(); i++) {
            String h = hexRows[i];
            int[] rows = new int[7];
            for (int r = 0; r < 7; r++) rows[r] = Integer.parseInt(h.substring(2 * r, 2 * r + 2), 16);
            GLYPHS.put(chars.charAt(i), rows);
        }
    }

    static {
        put(" 0123456789", "00000000000000", "0E11131519110E", "040C040404040E", "0E11010204081F",
            "1F02040201110E", "02060A121F0202", "1F101E0101110E", "0608101E11110E", "1F010204080808",
            "0E11110E11110E", "0E11110F01020C");
        put("ABCDEFGHIJKLM", "0E11111F111111", "1E11111E11111E", "0E11101010110E", "1C12111111121C",
            "1F10101E10101F", "1F10101E101010", "0E11101711110F", "1111111F111111", "0E04040404040E",
            "0702020202120C", "11121418141211", "1010101010101F", "111B1515111111");
        put("NOPQRSTUVWXYZ", "11111915131111", "0E11111111110E", "1E11111E101010", "0E11111115120D", "1E11111E141211",
            "0F10100E01011E", "1F040404040404", "1111111111110E", "11111111110A04", "1111111515150A", "11110A040A1111",
            "1111110A040404", "1F01020408101F");
        put(".,:-_=+/()[]%'?!<>*|#", "00000000000C0C", "000000000C0408", "000C0C000C0C00", "0000001F000000",
            "0000000000001F", "00001F001F0000", "0004041F040400", "00010204081000", "02040808080402", "08040202020408",
            "0E08080808080E", "0E02020202020E", "18190204081303", "04040800000000", "0E110102040004", "04040404040004",
            "02040810080402", "08040201020408", "0004150E150400", "04040404040404", "0A0A1F0A1F0A0A");
        put("\u00d7\u00b7", "00110A040A1100", "00000004000000");
    }

    private static final int[] BOX = {0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F};

    private static int[] glyph(char c) { return GLYPHS.getOrDefault(c, BOX); }
}
