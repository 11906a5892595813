package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;

import static dev.stitch.kernels.cpu.Gemm.NR;
import static dev.stitch.kernels.cpu.Gemm.ceil;

/**
 * 2-D convolution as a GEMM per image: out[Cout, Ho·Wo] = W[Cout, Cin·kh·kw] · patches[Cin·kh·kw, Ho·Wo], so the
 * output comes out NCHW as it is. The weight is the A operand, read in place
 * from its own (mapped) rows. B, the patch matrix,
 * is never built whole (it would be a gigabyte for a VAE layer at 512×512): it is packed into NR-pixel panels a
 * chunk at a time, straight from the image (zeros written where a patch reaches into the padding), each value once,
 * and every weight tile passes over the chunk while it sits in cache.
 *
 * <p>Reading B in place from a padded copy of the image (stride 1: a panel row is a shifted run of it) was tried and
 * measured no faster: its unaligned runs take more L1 than packed panels, which cancels the saved packing pass.
 */
final class Conv {
    private Conv() {}

    /**
     * Patch values per packed chunk (16 MB): a 16×16 image at 1280 channels fits whole, so each weight tile fetched
     * from memory meets all of its pixel panels; larger images are cut into chunks of this size.
     */
    private static final int CHUNK = 4 << 20;

    static void conv2d(Parallel par, float[] x, int bn, int cin, int h, int w, Tensor weight, float[] bias, int cout,
                       int kh, int kw, int stride, int pt, int pb, int pl, int pr, int ho, int wo, Activation act,
                       float[] out) {
        int k = cin * kh * kw;
        Gemm.Operand a = Gemm.Operand.weightRows(weight, k);
        Gemm.Epilogue ep = new Gemm.Epilogue(bias, null, act);
        for (int n = 0; n < bn; n++)
            multiply(par, a, cout, k, new Patches(x, n * cin * h * w, h, w, pt, pl, kh, kw, stride, wo, ho * wo),
                out, n * cout * ho * wo, ep);
    }

    /** Patches packed into NR-pixel panels, a chunk at a time, each chunk then a plain GEMM. */
    private static void multiply(Parallel par, Gemm.Operand a, int cout, int k, Patches src, float[] out, int outOff,
                               Gemm.Epilogue ep) {
        int hw = src.hw(), panels = ceil(hw, NR), chunk = Math.clamp(CHUNK / Math.max(1, k * NR), 1, panels);
        float[] patches = new float[chunk * k * NR];
        for (int j0 = 0; j0 < panels; j0 += chunk) {
            int jn = Math.min(chunk, panels - j0), first = j0;
            par.forEach(jn, j -> src.pack(first + j, k, patches, j * k * NR));
            Gemm.multiply(par, cout, Math.min(jn * NR, hw - j0 * NR), k, a, Gemm.Operand.packed(patches, k, NR),
                out, outOff + j0 * NR, hw, ep);
        }
    }

    /**
     * The patch matrix of one image: row p = (c, dy, dx), column q = output pixel (y, x) in row-major order, value
     * x[c, y·s + dy − pt, x·s + dx − pl], zero where that falls in the padding. The padding is never materialised: a
     * run of pixels copies its part inside the image and zero-fills the rest (a VAE layer's padded copy would be
     * hundreds of MB).
     */
    record Patches(float[] x, int off, int h, int w, int pt, int pl, int kh, int kw, int stride, int wo, int hw) {
        /** Packs panel {@code panel} (NR pixels, zero past the last) over all k rows into dst[d0..], [k][NR]. */
        void pack(int panel, int k, float[] dst, int d0) {
            // the panel's pixels as runs within output rows
            int q0 = panel * NR, q1 = Math.min(q0 + NR, hw), runs = 0;
            int[] ys = new int[NR], xs = new int[NR], len = new int[NR];
            for (int q = q0; q < q1; runs++) {
                int y = q / wo, x0 = q % wo, n = Math.min(wo - x0, q1 - q);
                ys[runs] = y;
                xs[runs] = x0;
                len[runs] = n;
                q += n;
            }
            int valid = q1 - q0, c = 0, dy = 0, dx = 0;
            for (int p = 0; p < k; p++) {
                int d = d0 + p * NR;
                for (int r = 0; r < runs; r++) {
                    int n = len[r], sy = ys[r] * stride + dy - pt;
                    if (sy < 0 || sy >= h) {
                        Arrays.fill(dst, d, d + n, 0f);
                    } else {
                        // pixels i of the run read column sx = (x0 + i)·stride + dx − pl: those in [0, w) are the image
                        int row = off + (c * h + sy) * w, sx0 = xs[r] * stride + dx - pl;
                        int lo = Math.min(n, sx0 >= 0 ? 0 : (-sx0 + stride - 1) / stride);
                        int hi = Math.max(lo, Math.min(n, sx0 >= w ? 0 : (w - 1 - sx0) / stride + 1));
                        if (lo > 0) Arrays.fill(dst, d, d + lo, 0f);
                        if (stride == 1) { if (hi > lo) System.arraycopy(x, row + sx0 + lo, dst, d + lo, hi - lo); }
                        else for (int i = lo; i < hi; i++) dst[d + i] = x[row + sx0 + i * stride];
                        if (hi < n) Arrays.fill(dst, d + hi, d + n, 0f);
                    }
                    d += n;
                }
                if (valid < NR) Arrays.fill(dst, d, d0 + (p + 1) * NR, 0f);
                if (++dx == kw) { dx = 0; if (++dy == kh) { dy = 0; c++; } }
            }
        }
    }
}
