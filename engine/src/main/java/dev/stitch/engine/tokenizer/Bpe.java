package dev.stitch.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-pair encoding of one pre-tokenized word: start from single characters with {@code </w>} glued to the
 * last one, then repeatedly merge the adjacent pair with the lowest rank in {@code merges.txt} (every occurrence,
 * left to right) until no pair has a rank.
 */
final class Bpe {
    static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> ranks;   // "first second" -> line number - 1
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    Bpe(Map<String, Integer> ranks) { this.ranks = ranks; }

    static String pairKey(String first, String second) { return first + " " + second; }

    /** The symbols of {@code word} (already byte-encoded, not empty) after all merges. */
    List<String> encode(String word) {
        List<String> hit = cache.get(word);
        if (hit != null) return hit;
        List<String> symbols = merge(word);
        // Prompts repeat words, but a long-running server must not grow without bound.
        if (cache.size() < 100_000) cache.put(word, symbols);
        return symbols;
    }

    private List<String> merge(String word) {
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length() - 1; i++) symbols.add(String.valueOf(word.charAt(i)));
        symbols.add(word.charAt(word.length() - 1) + END_OF_WORD);
        while (symbols.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = ranks.get(pairKey(symbols.get(i), symbols.get(i + 1)));
                if (r != null && r < best) {
                    best = r;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        return List.copyOf(symbols);
    }
}
