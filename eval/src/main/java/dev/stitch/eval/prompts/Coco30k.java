package dev.stitch.eval.prompts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * COCO-30k: 30000 MS-COCO validation captions, one per image, with a seed each: the usual prompt set for FID and
 * CLIP-score checks of image quality. Columns: {@code image_id, source, prompt, evaluation_seed} ({@code source}
 * optional); the image ids keep their leading zeros.
 */
public final class Coco30k {
    private Coco30k() {}

    public record Caption(String imageId, String source, String prompt, long seed) {
        public PromptItem toItem() { return new PromptItem(prompt, seed, null, null); }
    }

    public static List<Caption> load(Path file) {
        Csv.Table t = Csv.readTable(file);
        boolean hasSource = t.has("source");
        List<Caption> out = new ArrayList<>(t.size());
        for (Csv.Record r : t.records())
            out.add(new Caption(t.get(r, "image_id"), hasSource ? t.get(r, "source") : null, t.get(r, "prompt"),
                t.getLong(r, "evaluation_seed")));
        return out;
    }
}
