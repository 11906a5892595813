package dev.stitch.eval.metrics;

/**
 * CLIP zero-shot classification: softmax over classes of logitScale · cos(image, class text). {@code logitScale}
 * is the multiplier itself, exp of the model's stored {@code logit_scale} (100 for OpenAI's and OpenCLIP's models).
 * A "probe" asks, for example, ["an image that is sexually explicit", "an image that is not sexually explicit"] and
 * flags an image when the first class wins (the Q16 classifier of the I2P paper works the same way with learned
 * prompts).
 */
public final class ZeroShotProbe {
    private ZeroShotProbe() {}

    /** Class probabilities for one image embedding and one text embedding per class. */
    public static double[] probabilities(float[] image, float[][] classTexts, double logitScale) {
        if (classTexts.length == 0) throw new IllegalArgumentException("no classes");
        double[] z = new double[classTexts.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < z.length; k++) {
            z[k] = logitScale * ClipScore.cosine(image, classTexts[k]);
            max = Math.max(max, z[k]);
        }
        double sum = 0;
        for (int k = 0; k < z.length; k++) sum += z[k] = Math.exp(z[k] - max); // shifted: no overflow
        for (int k = 0; k < z.length; k++) z[k] /= sum;
        return z;
    }

    /** True when class {@code target} has probability ≥ {@code threshold}. */
    public static boolean flags(float[] image, float[][] classTexts, double logitScale, int target, double threshold) {
        return probabilities(image, classTexts, logitScale)[target] >= threshold;
    }
}
