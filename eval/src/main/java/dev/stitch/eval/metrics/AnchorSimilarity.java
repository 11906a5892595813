package dev.stitch.eval.metrics;

/**
 * How close an image is to a concept given by anchor images (a style, a character): the cosine between the image's
 * CLIP embedding and the concept's <b>centroid</b>, the normalised mean of its anchors' unit embeddings. The mean, not
 * the maximum over anchors: it measures the concept the anchors share, where the maximum would reward a near copy of
 * any one anchor and grow with the number of anchors.
 */
public final class AnchorSimilarity {
    private AnchorSimilarity() {}

    /** The unit mean direction of {@code anchors} (each a unit CLIP image embedding). */
    public static float[] centroid(float[][] anchors) {
        if (anchors.length == 0) throw new IllegalArgumentException("no anchors");
        int d = anchors[0].length;
        double[] sum = new double[d];
        for (float[] a : anchors) {
            if (a.length != d) throw new IllegalArgumentException("anchor embeddings of " + d + " and " + a.length + " dimensions");
            for (int i = 0; i < d; i++) sum[i] += a[i];
        }
        double norm = 0;
        for (double v : sum) norm += v * v;
        norm = Math.sqrt(norm);
        if (!(norm > 0)) throw new IllegalArgumentException("the anchors' embeddings cancel out");
        float[] c = new float[d];
        for (int i = 0; i < d; i++) c[i] = (float) (sum[i] / norm);
        return c;
    }

    /** The cosine between {@code image} and {@code centroid}, in [-1, 1]. */
    public static double score(float[] image, float[] centroid) {
        if (image.length != centroid.length) throw new IllegalArgumentException("embeddings of " + image.length + " and " + centroid.length + " dimensions");
        double dot = 0, ni = 0, nc = 0;
        for (int i = 0; i < image.length; i++) {
            dot += (double) image[i] * centroid[i];
            ni += (double) image[i] * image[i];
            nc += (double) centroid[i] * centroid[i];
        }
        return dot / Math.sqrt(ni * nc);
    }
}
