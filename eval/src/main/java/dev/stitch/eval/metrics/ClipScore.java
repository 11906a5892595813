package dev.stitch.eval.metrics;

import java.util.List;

/**
 * CLIP score as torchmetrics defines it: 100 · max(cos(image embedding, text embedding), 0) per pair, averaged
 * over pairs. The embeddings are CLIP's projected outputs, unnormalised (the cosine normalises them).
 */
public final class ClipScore {
    private ClipScore() {}

    public static double score(float[] image, float[] text) { return 100 * Math.max(cosine(image, text), 0); }

    /** The mean score over paired lists. */
    public static double mean(List<float[]> images, List<float[]> texts) {
        if (images.size() != texts.size() || images.isEmpty())
            throw new IllegalArgumentException(images.size() + " images and " + texts.size() + " texts");
        double s = 0;
        for (int i = 0; i < images.size(); i++) s += score(images.get(i), texts.get(i));
        return s / images.size();
    }

    /** Cosine similarity in double; a zero vector is an error, not a NaN. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("embedding sizes differ: " + a.length + " vs " + b.length);
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        if (aa == 0 || bb == 0) throw new IllegalArgumentException("zero embedding");
        return ab / Math.sqrt(aa * bb);
    }
}
