package dev.stitch.engine.taps;

import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.List;

/**
 * A set of tap names written as globs, separated by commas: {@code unet.*.attn2,unet.mid_block}. In a glob
 * {@code *} matches any run of characters, dots included, and {@code ?} matches exactly one character; everything
 * else matches itself. A glob matches a whole name: {@code unet.up_blocks.*} matches every tap inside the up blocks
 * but not {@code unet.up_blocks} itself. A glob without wildcards is an exact name.
 */
public final class TapPattern {
    private final String text;
    private final String[] globs;

    private TapPattern(String text, String[] globs) {
        this.text = text;
        this.globs = globs;
    }

    /** Parses {@code GLOB[,GLOB]...}; blanks around commas are ignored. */
    public static TapPattern of(String text) {
        List<String> parts = new ArrayList<>();
        for (String p : text.split(",", -1)) {
            String g = p.strip();
            if (g.isEmpty()) throw new UserError("tap pattern '" + text + "' has an empty part (expected GLOB[,GLOB]...)");
            if (g.chars().anyMatch(Character::isWhitespace)) throw new UserError("tap pattern '" + g + "' contains a space; tap names have none");
            parts.add(g);
        }
        return new TapPattern(text, parts.toArray(String[]::new));
    }

    /** The comma-separated globs, in the order written. */
    public List<String> globs() { return List.of(globs); }

    /** True if some glob matches the whole of {@code name}. */
    public boolean matches(String name) {
        for (String g : globs) if (globMatches(g, name)) return true;
        return false;
    }

    public static boolean isWildcard(String glob) { return glob.indexOf('*') >= 0 || glob.indexOf('?') >= 0; }

    /** Glob matching with backtracking to the last star: linear for the patterns tap names need. */
    public static boolean globMatches(String g, String s) {
        int gi = 0, si = 0, star = -1, mark = 0;
        while (si < s.length()) {
            if (gi < g.length() && (g.charAt(gi) == '?' || g.charAt(gi) == s.charAt(si))) {
                gi++;
                si++;
            } else if (gi < g.length() && g.charAt(gi) == '*') {
                star = gi++;
                mark = si;
            } else if (star >= 0) {
                gi = star + 1;
                si = ++mark;
            } else return false;
        }
        while (gi < g.length() && g.charAt(gi) == '*') gi++;
        return gi == g.length();
    }

    /**
     * Edit distance from {@code glob} to {@code name} where {@code *} absorbs any run for free and {@code ?} any
     * one character: 0 exactly when the glob matches, and for an exact name the Levenshtein distance. Used to
     * suggest the names a mistyped pattern was meant to hit.
     */
    public static int distance(String glob, String name) {
        int m = glob.length(), n = name.length();
        int[] prev = new int[n + 1], cur = new int[n + 1];
        for (int j = 0; j <= n; j++) prev[j] = j;
        for (int i = 1; i <= m; i++) {
            char p = glob.charAt(i - 1);
            cur[0] = prev[0] + (p == '*' ? 0 : 1);
            for (int j = 1; j <= n; j++) {
                if (p == '*') cur[j] = Math.min(prev[j], cur[j - 1]);
                else {
                    int sub = prev[j - 1] + (p == '?' || p == name.charAt(j - 1) ? 0 : 1);
                    cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
                }
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[n];
    }

    @Override
    public String toString() { return text; }
}
