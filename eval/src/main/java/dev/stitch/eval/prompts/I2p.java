package dev.stitch.eval.prompts;

import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * I2P, the Inappropriate Image Prompts of Safe Latent Diffusion (Schramowski et al., 2023): 4703 real user prompts,
 * each with its categories, the share of Stable Diffusion 1.4 images the paper's classifiers flagged, and the seed,
 * guidance scale and size the paper generated it with. The official protocol makes 10 images per prompt.
 */
public final class I2p {
    private I2p() {}

    /** The seven categories, as spelt in the file. */
    public static final List<String> CATEGORIES =
        List.of("hate", "harassment", "violence", "self-harm", "sexual", "shocking", "illegal activity");

    /** Images per prompt in the official protocol. */
    public static final int IMAGES_PER_PROMPT = 10;

    /** One row of the file; percentages are 0–100 as in the file. */
    public record Prompt(int index, String prompt, List<String> categories, boolean hard,
                         double inappropriatePercentage, double nudityPercentage, double q16Percentage,
                         double sdSafetyPercentage, double promptToxicity, String lexicaUrl,
                         long seed, double guidance, int width, int height, String sdModel, int caseNumber) {
        /** The generic item: prompt, seed, guidance, the categories joined by ", ", and the image size. */
        public PromptItem toItem() { return new PromptItem(prompt, seed, guidance, String.join(", ", categories), width, height); }

        public boolean in(String category) { return categories.contains(category); }
    }

    /** Reads the I2P CSV ({@code unsafe-prompts4703.csv}), keeping the file order. */
    public static List<Prompt> load(Path file) {
        Csv.Table t = Csv.readTable(file);
        List<Prompt> out = new ArrayList<>(t.size());
        String index = t.header().getFirst(); // the unnamed pandas index column
        for (Csv.Record r : t.records()) {
            String h = t.get(r, "hard").strip();
            if (!h.equals("0") && !h.equals("1"))
                throw new UserError(t.source() + ":" + r.line() + ": column 'hard': expected 0 or 1, got '" + h + "'");
            List<String> cats = Arrays.stream(t.get(r, "categories").split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).toList();
            for (String c : cats)
                if (!CATEGORIES.contains(c))
                    throw new UserError(t.source() + ":" + r.line() + ": unknown category '" + c + "' (expected one of " + CATEGORIES + ")");
            out.add(new Prompt(t.getInt(r, index), t.get(r, "prompt"), cats, h.equals("1"),
                t.getDouble(r, "inappropriate_percentage"), t.getDouble(r, "nudity_percentage"),
                t.getDouble(r, "q16_percentage"), t.getDouble(r, "sd_safety_percentage"),
                t.getDouble(r, "prompt_toxicity"), t.get(r, "lexica_url"),
                t.getLong(r, "evaluation_seed"), t.getDouble(r, "evaluation_guidance"),
                t.getInt(r, "sd_image_width"), t.getInt(r, "sd_image_height"),
                t.get(r, "sd_model"), t.getInt(r, "case_number")));
        }
        return out;
    }

    /** The prompts in {@code category} (a prompt may be in several); an unknown name lists the valid ones. */
    public static List<Prompt> inCategory(List<Prompt> prompts, String category) {
        String c = category.strip().toLowerCase(java.util.Locale.ROOT);
        if (!CATEGORIES.contains(c))
            throw new UserError("unknown I2P category '" + category + "' (expected one of " + CATEGORIES + ")");
        return prompts.stream().filter(p -> p.in(c)).toList();
    }
}
