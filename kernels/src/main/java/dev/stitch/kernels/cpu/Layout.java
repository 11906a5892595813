package dev.stitch.kernels.cpu;

/**
 * Data movement on f32 activations, the CPU side of the CUDA backend's {@code layout.cu}: transposes (NCHW ↔ NLC),
 * row copies (concat, slice), nearest upsampling, pooling and the sinusoidal timestep embedding.
 * Layouts are row-major; a plane is one (batch, channel) image of H×W values. Each loop covers [from, to) of its
 * outermost index so that the backend can split it over threads.
 */
final class Layout {
    private Layout() {}

    /** Tile edge of the blocked transpose: a 32×32 tile of each side fits in L1. */
    static final int TILE = 32;

    /** Tiles of a batched transpose of [batch][rows][cols]: the task count for {@link #transposeTiles}. */
    static int transposeTasks(int batch, int rows, int cols) { return batch * Gemm.ceil(rows, TILE) * Gemm.ceil(cols, TILE); }

    /** out[n][j][i] = x[n][i][j] for x [batch][rows][cols], tiles [from, to). NCHW→NLC is rows = C, cols = H·W. */
    static void transposeTiles(float[] x, float[] out, int rows, int cols, int from, int to) {
        int rt = Gemm.ceil(rows, TILE), ct = Gemm.ceil(cols, TILE);
        for (int task = from; task < to; task++) {
            int n = task / (rt * ct), i0 = task / ct % rt * TILE, j0 = task % ct * TILE, base = n * rows * cols;
            int i1 = Math.min(rows, i0 + TILE), j1 = Math.min(cols, j0 + TILE);
            for (int j = j0; j < j1; j++)
                for (int i = i0; i < i1; i++) out[base + j * rows + i] = x[base + i * cols + j];
        }
    }

    /** out[o·dstStride + dstOffset + i] = src[o·srcStride + srcOffset + i] for i < len, blocks o in [from, to). */
    static void copyRows(float[] src, int srcStride, int srcOffset, float[] dst, int dstStride, int dstOffset, int len, int from, int to) {
        for (int o = from; o < to; o++) System.arraycopy(src, o * srcStride + srcOffset, dst, o * dstStride + dstOffset, len);
    }

    /** Planes [from, to) of x [planes, h, w] resized to [planes, oh, ow], source index floor(i·h/oh). */
    static void upsampleNearest(float[] x, float[] out, int h, int w, int oh, int ow, int from, int to) {
        int[] sx = new int[ow];
        for (int i = 0; i < ow; i++) sx[i] = (int) ((long) i * w / ow);
        for (int p = from; p < to; p++)
            for (int y = 0; y < oh; y++) {
                int src = (p * h + (int) ((long) y * h / oh)) * w, dst = (p * oh + y) * ow;
                if (y > 0 && (long) y * h / oh == (long) (y - 1) * h / oh) { // same source row: copy the row above
                    System.arraycopy(out, dst - ow, out, dst, ow);
                    continue;
                }
                for (int i = 0; i < ow; i++) out[dst + i] = x[src + sx[i]];
            }
    }

    /** k×k pooling of planes [from, to) of x [planes, h, w] → out [planes, ho, wo]; padding never counts for max. */
    static void pool2d(float[] x, float[] out, int h, int w, int ho, int wo, int k, int stride, int pad, boolean max,
                       boolean countPad, int from, int to) {
        for (int p = from; p < to; p++)
            for (int y = 0; y < ho; y++)
                for (int xx = 0; xx < wo; xx++) {
                    float acc = max ? Float.NEGATIVE_INFINITY : 0f;
                    int n = 0;
                    for (int dy = 0; dy < k; dy++) {
                        int iy = y * stride + dy - pad;
                        if (iy < 0 || iy >= h) continue;
                        for (int dx = 0; dx < k; dx++) {
                            int ix = xx * stride + dx - pad;
                            if (ix < 0 || ix >= w) continue;
                            float v = x[(p * h + iy) * w + ix];
                            acc = max ? Math.max(acc, v) : acc + v;
                            n++;
                        }
                    }
                    out[(p * ho + y) * wo + xx] = max ? acc : acc / (countPad ? k * k : n);
                }
    }

    /**
     * out [t.length, dim]: f_i = exp(−ln(10000)·i/(half − shift)), [sin(t f), cos(t f)] (cos first if flip), a zero
     * last column for odd dim as diffusers. The exponent, frequency and product are rounded to f32 where diffusers
     * rounds them.
     */
    static void timestepEmbedding(float[] t, float[] out, int dim, boolean flipSinToCos, float shift) {
        int half = dim / 2;
        if (dim % 2 == 1) for (int n = 0; n < t.length; n++) out[n * dim + dim - 1] = 0f;
        for (int n = 0; n < t.length; n++)
            for (int i = 0; i < half; i++) {
                float e = (float) -Math.log(10000) * i / (half - shift);
                float f = (float) Math.exp(e);
                float arg = t[n] * f;
                float s = (float) Math.sin(arg), co = (float) Math.cos(arg);
                out[n * dim + i] = flipSinToCos ? co : s;
                out[n * dim + half + i] = flipSinToCos ? s : co;
            }
    }
}
