package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;

/**
 * 2-D convolution as an implicit GEMM per image: out[Cout, Ho·Wo] = W[Cout, Cin·kh·kw] · patches[Cin·kh·kw, Ho·Wo].
 * The weight is the A operand, packed once into MR-row tiles; the patches (im2col) are packed on the fly straight
 * into NR-pixel B panels, one K block at a time, so no full im2col matrix is ever built. The output is NCHW as is.
 */
final class Conv {
    private Conv() {}

    /** Cout tiles per task block: the weight block (this many × MR × KC floats) stays in L2 while patches stream. */
    private static final int M_TILES = 48;
    /** Pixel panels per task block. */
    private static final int N_PANELS = 4;

    static void conv2d(Parallel par, float[] x, int bn, int cin, int h, int w, Tensor weight, float[] bias,
                       int cout, int kh, int kw, int stride, int pt, int pl, int ho, int wo, Activation act, float[] out) {
        int k = cin * kh * kw, hw = ho * wo;
        float[] a = Gemm.packedRows(par, weight, cout, k, Gemm.MR);
        Gemm.Epilogue ep = new Gemm.Epilogue(bias, null, act);
        boolean plain = kh == 1 && kw == 1 && stride == 1 && pt == 0 && pl == 0 && ho == h && wo == w;
        for (int n = 0; n < bn; n++) {
            int xOff = n * cin * h * w;
            java.util.function.Supplier<Gemm.Panels> b = plain
                ? () -> new Gemm.KOuter(x, xOff, hw, hw, Gemm.NR, 1) // a 1×1 conv is a plain GEMM
                : () -> new Im2col(x, xOff, cin, h, w, kh, kw, stride, pt, pl, ho, wo);
            Gemm.multiply(par, cout, hw, k, () -> new Gemm.Packed(a, k, Gemm.MR), b, out, n * cout * hw, hw, ep, M_TILES, N_PANELS);
        }
    }

    /** Patch panels of one image: row p = (c, dy, dx) of K, column q = output pixel (y, x) in row-major order. */
    static final class Im2col extends Gemm.Panels {
        private final float[] x;
        private final int xOff, h, w, kh, kw, step, pt, pl, wo, hw;
        // one panel's pixels as runs within output rows: (y, first x, end x)
        private final int[] runY = new int[Gemm.NR], runX0 = new int[Gemm.NR], runX1 = new int[Gemm.NR];

        Im2col(float[] x, int xOff, int cin, int h, int w, int kh, int kw, int stride, int pt, int pl, int ho, int wo) {
            super(Gemm.NR);
            this.x = x; this.xOff = xOff; this.h = h; this.w = w; this.kh = kh; this.kw = kw;
            this.step = stride; this.pt = pt; this.pl = pl; this.wo = wo; this.hw = ho * wo;
        }

        @Override
        void prepare(int first, int count, int p0, int kc) {
            data = Gemm.Scratch.get(1, count * kc * Gemm.NR);
            base = 0;
            stride = kc * Gemm.NR;
            for (int j = 0; j < count; j++) packPanel(first + j, p0, kc, j * kc * Gemm.NR);
        }

        private void packPanel(int panel, int p0, int kc, int d0) {
            int q0 = panel * Gemm.NR, q1 = Math.min(q0 + Gemm.NR, hw), runs = 0;
            for (int q = q0; q < q1; runs++) {
                int y = q / wo, x0 = q % wo, x1 = Math.min(wo, x0 + q1 - q);
                runY[runs] = y; runX0[runs] = x0; runX1[runs] = x1;
                q += x1 - x0;
            }
            int taps = kh * kw, c = p0 / taps, dy = p0 % taps / kw, dx = p0 % kw;
            for (int p = 0; p < kc; p++) {
                int d = d0 + p * Gemm.NR;
                for (int r = 0; r < runs; r++) {
                    int n = runX1[r] - runX0[r];
                    fillRun(c, dy, dx, runY[r], runX0[r], runX1[r], d);
                    d += n;
                }
                if (q1 - q0 < Gemm.NR) Arrays.fill(data, d0 + p * Gemm.NR + q1 - q0, d0 + (p + 1) * Gemm.NR, 0f);
                if (++dx == kw) { dx = 0; if (++dy == kh) { dy = 0; c++; } }
            }
        }

        /** dst[d..] = x[c, y·s + dy − pt, x·s + dx − pl] for x in [x0, x1), zero outside the image. */
        private void fillRun(int c, int dy, int dx, int y, int x0, int x1, int d) {
            int iy = y * step + dy - pt;
            if (iy < 0 || iy >= h) { Arrays.fill(data, d, d + x1 - x0, 0f); return; }
            // input column ix = x·s + dx − pl lies inside [0, w) for x in [xa, xb)
            int xa = Math.clamp(Math.ceilDiv(pl - dx, step), x0, x1), xb = Math.clamp(Math.ceilDiv(w + pl - dx, step), xa, x1);
            int row = xOff + (c * h + iy) * w + dx - pl;
            for (int xx = x0; xx < xa; xx++) data[d + xx - x0] = 0f;
            // xb == xa can put row + xa past the end of x, which arraycopy refuses even for a length of 0
            if (step == 1) { if (xb > xa) System.arraycopy(x, row + xa, data, d + xa - x0, xb - xa); }
            else for (int xx = xa; xx < xb; xx++) data[d + xx - x0] = x[row + xx * step];
            for (int xx = xb; xx < x1; xx++) data[d + xx - x0] = 0f;
        }
    }
}
