package dev.stitch.eval.prompts;

import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Loads any prompt file as {@link PromptItem}s, by extension:
 * <ul>
 *   <li>{@code .jsonl}: one {@code {"prompt", "seed"?, "guidance"?, "category"?, "width"?, "height"?}} object per line;</li>
 *   <li>{@code .csv}: a header with a {@code prompt} column; the seed from {@code evaluation_seed} or {@code seed},
 *       the guidance from {@code evaluation_guidance} or {@code guidance}, the category from {@code categories} or
 *       {@code category}, the image size from {@code sd_image_width}/{@code sd_image_height} or {@code width}/{@code height}
 *       (this reads I2P, COCO-30k and the other prompt CSVs of the concept-erasure literature);</li>
 *   <li>{@code .txt}: one prompt per non-blank line.</li>
 * </ul>
 * A CSV with a {@code concept} column, or JSON Lines with a {@code concept} key, is a {@link ConceptSet}: its items'
 * category is their concept.
 */
public final class PromptSet {
    private PromptSet() {}

    public static List<PromptItem> load(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl")) {
            List<Jsonl.Line> lines = Jsonl.read(file);
            if (lines.stream().anyMatch(l -> l.value().has("concept"))) return ConceptSet.fromJsonl(file, lines).items();
            List<PromptItem> out = new ArrayList<>();
            for (Jsonl.Line l : lines) out.add(PromptItem.fromJson(l.value(), file + ":" + l.line()));
            return out;
        }
        if (name.endsWith(".csv")) {
            Csv.Table t = Csv.readTable(file);
            return t.has("concept") ? ConceptSet.fromCsv(file, t).items() : fromCsv(t);
        }
        if (name.endsWith(".txt"))
            return Csv.readText(file).lines().filter(s -> !s.isBlank()).map(PromptItem::of).toList();
        throw new UserError(file + ": unknown prompt file type (expected .csv, .jsonl or .txt)");
    }

    static List<PromptItem> fromCsv(Csv.Table t) {
        String seed = first(t, "evaluation_seed", "seed"), guidance = first(t, "evaluation_guidance", "guidance");
        String category = first(t, "categories", "category");
        String width = first(t, "sd_image_width", "width"), height = first(t, "sd_image_height", "height");
        if ((width == null) != (height == null))
            throw new UserError(t.source() + ": column " + (width != null ? width : height) + " needs its partner (sd_image_width and sd_image_height, or width and height)");
        int prompt = t.column("prompt");
        List<PromptItem> out = new ArrayList<>(t.size());
        for (Csv.Record r : t.records()) {
            Double g = guidance == null ? null : t.getDouble(r, guidance);
            if (g != null && !(g >= 0 && g <= Float.MAX_VALUE))   // a float in the request
                throw new UserError(t.source() + ":" + r.line() + ": column " + guidance + " is " + t.get(r, guidance)
                    + ", expected a guidance scale >= 0");
            Integer w = width == null ? null : t.getInt(r, width), h = height == null ? null : t.getInt(r, height);
            if (w != null && (w < 1 || h < 1))
                throw new UserError(t.source() + ":" + r.line() + ": image size " + w + "x" + h + ", expected positive sides");
            out.add(new PromptItem(r.fields().get(prompt), seed == null ? null : t.getLong(r, seed), g,
                category == null ? null : t.get(r, category), w, h));
        }
        return out;
    }

    private static String first(Csv.Table t, String... columns) {
        for (String c : columns) if (t.has(c)) return c;
        return null;
    }

    /** The items in {@code category}; a name no item has is an error listing the categories present. */
    public static List<PromptItem> inCategory(List<PromptItem> items, String category) {
        List<PromptItem> out = items.stream().filter(i -> i.inCategory(category)).toList();
        if (out.isEmpty()) {
            TreeSet<String> known = new TreeSet<>();
            for (PromptItem i : items) known.addAll(i.categories());
            throw new UserError("no prompt has category '" + category + "'"
                + (known.isEmpty() ? " (the prompt set has no categories)" : " (the prompt set has " + known + ")"));
        }
        return out;
    }
}
