package dev.stitch.eval.prompts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * What every evaluation consumes: one prompt, with the seed and guidance scale the prompt set prescribes (null: the
 * run's defaults) and its category (null: none). A category may list several, comma-separated, as I2P does
 * ({@code "violence, self-harm"}); {@link #categories()} splits it.
 */
public record PromptItem(String prompt, Long seed, Double guidance, String category, Integer width, Integer height) {
    private static final Set<String> KEYS = Set.of("prompt", "seed", "guidance", "category", "width", "height");

    public PromptItem {
        if (prompt == null) throw new IllegalArgumentException("prompt is null");
        if (guidance != null && !Double.isFinite(guidance)) throw new IllegalArgumentException("guidance " + guidance);
        if ((width == null) != (height == null)) throw new IllegalArgumentException("a width needs a height");
    }

    /** An item without an image size of its own. */
    public PromptItem(String prompt, Long seed, Double guidance, String category) { this(prompt, seed, guidance, category, null, null); }

    public static PromptItem of(String prompt) { return new PromptItem(prompt, null, null, null); }

    /** This item under another category (a concept set's concept, see {@link ConceptSet}). */
    public PromptItem withCategory(String c) { return new PromptItem(prompt, seed, guidance, c, width, height); }

    /** The category names, trimmed; empty when there is none. */
    public List<String> categories() {
        if (category == null || category.isBlank()) return List.of();
        return Arrays.stream(category.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    public boolean inCategory(String name) {
        for (String c : categories()) if (c.equalsIgnoreCase(name.strip())) return true;
        return false;
    }

    /** {@code {"prompt": ..., "seed": ..., "guidance": ..., "category": ...}} with the absent fields left out. */
    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("prompt", prompt);
        if (seed != null) o.put("seed", seed);
        if (guidance != null) o.put("guidance", guidance);
        if (category != null) o.put("category", category);
        if (width != null) o.put("width", width).put("height", height);
        return o;
    }

    /**
     * Reads the JSON form strictly: {@code prompt} a string; {@code seed} an integer; {@code guidance} a number;
     * {@code category} a string; no other keys (a misspelt key would otherwise be silently ignored).
     */
    public static PromptItem fromJson(JsonNode o, String where) {
        if (o == null || !o.isObject()) throw new UserError(where + ": expected a JSON object like {\"prompt\": \"...\"}");
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) unknown.add(k);
        }
        if (!unknown.isEmpty())
            throw new UserError(where + ": unknown key(s) " + unknown + " (expected prompt, seed, guidance, category, width, height)");
        JsonNode p = o.get("prompt");
        if (p == null || !p.isTextual()) throw new UserError(where + ": 'prompt' must be a string");
        JsonNode s = o.get("seed"), g = o.get("guidance"), c = o.get("category");
        Long seed = null;
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong() || s.longValue() < 0)
                throw new UserError(where + ": 'seed' must be a non-negative integer, got " + s);
            seed = s.longValue();
        }
        Double guidance = null;
        if (g != null && !g.isNull()) {
            if (!g.isNumber() || !(g.doubleValue() >= 0 && g.doubleValue() <= Float.MAX_VALUE))   // a float in the request
                throw new UserError(where + ": 'guidance' must be a number >= 0, got " + g);
            guidance = g.doubleValue();
        }
        String category = null;
        if (c != null && !c.isNull()) {
            if (!c.isTextual()) throw new UserError(where + ": 'category' must be a string, got " + c);
            category = c.textValue();
        }
        Integer[] size = new Integer[2];
        String[] keys = {"width", "height"};
        for (int k = 0; k < 2; k++) {
            JsonNode v = o.get(keys[k]);
            if (v == null || v.isNull()) continue;
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1)
                throw new UserError(where + ": '" + keys[k] + "' must be a positive integer, got " + v);
            size[k] = v.intValue();
        }
        if ((size[0] == null) != (size[1] == null)) throw new UserError(where + ": 'width' and 'height' go together");
        return new PromptItem(p.textValue(), seed, guidance, category, size[0], size[1]);
    }
}
