package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;

import static dev.stitch.kernels.cpu.Gemm.MR;
import static dev.stitch.kernels.cpu.Gemm.NR;
import static dev.stitch.kernels.cpu.Gemm.ceil;

/**
 * 2-D convolution as a GEMM per image: out[Cout, Ho·Wo] = W[Cout, Cin·kh·kw] · patches[Cin·kh·kw, Ho·Wo], so the
 * output comes out NCHW as it is. The weight is the A operand, packed once into MR-row tiles. B, the patch matrix,
 * is never built whole (it would be a gigabyte for a VAE layer at 512×512): it is packed into NR-pixel panels a
 * chunk at a time, straight from the zero-padded image, each value once, and every weight tile passes over the
 * chunk while it sits in cache. For a 1×1 stride-1 convolution the "patches" are the image itself: a plain GEMM.
 *
 * <p>Reading B in place from the padded image (stride 1: a panel row is a shifted run of the image) was tried and
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
        Gemm.Operand a = Gemm.packedWeight(par, weight, cout, k, MR);
        Gemm.Epilogue ep = new Gemm.Epilogue(bias, null, act);
        int hp = h + pt + pb, wp = w + pl + pr;
        boolean padded = hp != h || wp != w;
        float[] xp = padded ? new float[cin * hp * wp] : x;
        for (int n = 0; n < bn; n++) {
            if (padded) pad(par, x, n * cin * h * w, cin, h, w, pt, pl, hp, wp, xp);
            multiply(par, a, cout, k, new Patches(xp, padded ? 0 : n * cin * h * w, hp, wp, kh, kw, stride, wo, ho * wo),
                out, n * cout * ho * wo, ep);
        }
    }

    /** xp = image {@code xo} of x inside a zero border (pt above, pl to the left, the rest below and right). */
    private static void pad(Parallel par, float[] x, int xo, int cin, int h, int w, int pt, int pl, int hp, int wp, float[] xp) {
        par.forEach(cin, c -> {
            int dst = c * hp * wp;
            Arrays.fill(xp, dst, dst + pt * wp, 0f);
            for (int y = 0; y < h; y++) {
                int row = dst + (pt + y) * wp;
                Arrays.fill(xp, row, row + pl, 0f);
                System.arraycopy(x, xo + (c * h + y) * w, xp, row + pl, w);
                Arrays.fill(xp, row + pl + w, row + wp, 0f);
            }
            Arrays.fill(xp, dst + (pt + h) * wp, dst + hp * wp, 0f);
        });
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
     * The patch matrix of one zero-padded image: row p = (c, dy, dx), column q = output pixel (y, x) in row-major
     * order, value xp[c, y·s + dy, x·s + dx]. Needs no bounds tests: the padding is in the image.
     */
    record Patches(float[] xp, int off, int hp, int wp, int kh, int kw, int stride, int wo, int hw) {
        /** Packs panel {@code panel} (NR pixels, zero past the last) over all k rows into dst[d0..], [k][NR]. */
        void pack(int panel, int k, float[] dst, int d0) {
            // the panel's pixels as runs within output rows
            int q0 = panel * NR, q1 = Math.min(q0 + NR, hw), runs = 0;
            int[] src = new int[NR], len = new int[NR];
            for (int q = q0; q < q1; runs++) {
                int y = q / wo, x0 = q % wo, n = Math.min(wo - x0, q1 - q);
                src[runs] = off + y * stride * wp + x0 * stride;
                len[runs] = n;
                q += n;
            }
            int valid = q1 - q0, c = 0, dy = 0, dx = 0;
            for (int p = 0; p < k; p++) {
                int d = d0 + p * NR, shift = (c * hp + dy) * wp + dx;
                for (int r = 0; r < runs; r++) {
                    int s = src[r] + shift, n = len[r];
                    if (stride == 1) System.arraycopy(xp, s, dst, d, n);
                    else for (int i = 0; i < n; i++) dst[d + i] = xp[s + i * stride];
                    d += n;
                }
                if (valid < NR) Arrays.fill(dst, d, d0 + (p + 1) * NR, 0f);
                if (++dx == kw) { dx = 0; if (++dy == kh) { dy = 0; c++; } }
            }
        }
    }
}
