package dev.stitch.eval.inception;

/**
 * torch's {@code F.interpolate(mode="bilinear", align_corners=False)} without antialiasing (what pytorch-fid resizes
 * with), as torch's CPU kernel: source coordinate {@code max(scale·(i + 0.5) − 0.5, 0)} with a float
 * {@code scale = in / out} times a double {@code i + 0.5}, so coordinates and weights are double, narrowed to float;
 * the upper neighbour clamped to the last row or column; the blend in float.
 */
final class BilinearResize {
    private BilinearResize() {}

    /** planes [channels, h, w] → [channels, outH, outW]. */
    static float[] resize(float[] src, int channels, int h, int w, int outH, int outW) {
        Axis ys = Axis.of(h, outH), xs = Axis.of(w, outW);
        float[] out = new float[channels * outH * outW];
        for (int c = 0; c < channels; c++) {
            int plane = c * h * w;
            for (int y = 0; y < outH; y++) {
                int r0 = plane + ys.i0[y] * w, r1 = plane + ys.i1[y] * w;
                for (int x = 0; x < outW; x++) {
                    float top = src[r0 + xs.i0[x]] * xs.l0[x] + src[r0 + xs.i1[x]] * xs.l1[x];
                    float bottom = src[r1 + xs.i0[x]] * xs.l0[x] + src[r1 + xs.i1[x]] * xs.l1[x];
                    out[(c * outH + y) * outW + x] = top * ys.l0[y] + bottom * ys.l1[y];
                }
            }
        }
        return out;
    }

    /** Per output index along one axis: the two source indices and their weights. */
    private record Axis(int[] i0, int[] i1, float[] l0, float[] l1) {
        static Axis of(int in, int out) {
            float scale = (float) in / out;
            Axis a = new Axis(new int[out], new int[out], new float[out], new float[out]);
            for (int i = 0; i < out; i++) {
                double s = Math.max(scale * (i + 0.5) - 0.5, 0);
                a.i0[i] = (int) s;
                a.i1[i] = a.i0[i] < in - 1 ? a.i0[i] + 1 : a.i0[i];
                a.l1[i] = (float) (s - a.i0[i]);
                a.l0[i] = (float) (1 - (s - a.i0[i]));
            }
            return a;
        }
    }
}
