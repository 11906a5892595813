package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static dev.stitch.kernels.cpu.Gemm.MR;
import static dev.stitch.kernels.cpu.Gemm.NR;
import static dev.stitch.kernels.cpu.Gemm.ceil;

/**
 * 3×3 convolution, stride 1, padding 1, by Winograd's minimal filtering F(4×4, 3×3) (Lavin and Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016; interpolation points 0, ±1, ±2, ∞): each 4×4 output tile is
 * Aᵀ[Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)]A, 36 products per 16 outputs and input channel where the direct path needs 144.
 * The sum over channels is 36 independent GEMMs, one per transformed position ξ: M_ξ[Cout × tiles] =
 * U_ξ[Cout × Cin] · V_ξ[Cin × tiles], run on {@link Gemm}'s micro-kernel.
 *
 * <ul>
 *   <li>Input transform: once per call, into B panels of NR tiles (a chunk of tile rows at a time, so a VAE layer at
 *       512×512 never holds its whole transformed input), vectorised over a row of tiles.</li>
 *   <li>Filter transform: per task and K block, for its block of output channels, vectorised over input channels,
 *       straight from the weight's (mapped, possibly f16) rows into a buffer that stays in L2 until the GEMMs read it.
 *       It is not cached with the weight: transformed filters take 4× the weight's memory (2.2 GB of 3×3 weights in
 *       SD2's UNet would become 8.6 GB), and a cached copy would be streamed from memory at 4× the bytes anyway. A task
 *       spreads one transform over up to {@link #PANELS} panels of NR tiles; below a few panels (8×8 latents) the
 *       transform costs more than Winograd saves, which is where {@link #pays} sends the work to the direct path.</li>
 *   <li>Output transform: by the task that owns the block of M, right after its last K block while the block is in
 *       cache, with the bias and activation, vectorised over tiles.</li>
 * </ul>
 *
 * <p>Accuracy: the transforms add f32 rounding (the 1/6, 1/12, 1/24 of G; the 4s and 5s of Bᵀ, the 8s of Aᵀ), and
 * the GEMMs sum transformed values larger than the products they stand for: on random inputs the relative L2 error
 * against a double-accumulating reference is 0.3–8e-6, growing with Cin, about four times the direct path's
 * ({@code WinogradParityTest} measures it and states the bound).
 */
final class Winograd {
    private Winograd() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int L = S.length();

    /** Transformed positions per tile (6 × 6). */
    private static final int XI = 36;
    /** Transformed values per input chunk (16 MB), as {@link Conv}'s patch chunks. */
    private static final int CHUNK = 4 << 20;
    /** Transformed filter values per task and K block (256 KB): bounds a task's output channels. */
    private static final int FILTER_BUDGET = 64 << 10;
    /**
     * Input channels per K block, at most: with {@link #FILTER_BUDGET} it keeps a task's transformed filter block
     * (36 × its output channels × this, 221 KB) in L2 between its transform and the GEMMs that read it. Measured
     * against 256 and 64 (and budgets of 128K and 256K values): the 1280-channel 16×16 case ran 20–30 % slower.
     */
    private static final int KC = 128;
    /** Output-channel tiles (of MR) per task, at most. */
    private static final int M_TILES = 8;
    /** Panels of NR tiles per task, at most: what one filter transform is spread over. */
    static final int PANELS = 8;

    /** The K block for Cin input channels: equal blocks of at most {@link #KC}. */
    private static int kBlock(int k) { return ceil(k, ceil(k, KC)); }

    /** True for the convolutions this path computes: 3×3, stride 1, padding 1 on every side. */
    static boolean applies(int kh, int kw, int stride, int pt, int pb, int pl, int pr) {
        return kh == 3 && kw == 3 && stride == 1 && pt == 1 && pb == 1 && pl == 1 && pr == 1;
    }

    /**
     * Where Winograd beats the direct path (measured with {@code WinogradRate}, see docs/performance.md): enough
     * channels for the GEMMs to run at speed, and at least 16 tiles per image (a 16×16 latent) so that one filter
     * transform serves a few panels. At 8×8 (4 tiles per image) it ran 0.7–0.9× the direct path's speed. The choice
     * looks at one image, never the batch: an image's activations must not depend on what it is batched with
     * (extraction batches prompts that generation runs one at a time).
     */
    static boolean pays(int cin, int cout, int h, int w) {
        return cin >= 32 && cout >= 32 && (long) ceil(h, 4) * ceil(w, 4) >= 16;
    }

    static void conv2d(Parallel par, float[] x, int bn, int cin, int h, int w, Tensor weight, float[] bias, int cout,
                       Activation act, float[] out) {
        int th = ceil(h, 4), tw = ceil(w, 4), tileRows = bn * th;
        int chunkRows = Math.clamp(CHUNK / ((long) XI * cin * tw), 1, tileRows);
        int maxPanels = ceil(chunkRows * tw, NR);
        float[] v = new float[Math.multiplyExact(XI * maxPanels * NR, cin)];
        Geometry g = new Geometry(bn, cin, h, w, cout, th, tw);
        for (int g0 = 0; g0 < tileRows; g0 += chunkRows) {
            int rows = Math.min(chunkRows, tileRows - g0), first = g0, panels = ceil(rows * tw, NR);
            par.forEach(cin * rows, task -> inputRow(x, g, task / rows, first + task % rows, first, panels, v));
            products(par, g, weight, bias, act, v, first, rows * tw, panels, out);
        }
    }

    /** The sizes every stage needs. */
    private record Geometry(int bn, int cin, int h, int w, int cout, int th, int tw) {}

    // ---- input transform ----------------------------------------------------------------------------------------

    /** Per-thread scratch, grown on demand. */
    private static final class Scratch {
        float[] phases = new float[0], rows = new float[0], tiles = new float[0], filter = new float[0], taps = new float[0];
        float[] u = new float[0], m = new float[0], small = new float[24 * L], outTile = new float[16 * L];

        static float[] grow(float[] a, int n) { return a.length >= n ? a : new float[Math.max(n, a.length + a.length / 2)]; }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Transforms tile row {@code gr} (image gr / th, tile row gr % th) of input channel c: Bᵀ d B for each of its tiles,
     * written to V's panels. The six input rows are split into four column phases (x = 4·tx + m − 1), so that both
     * passes run on whole vectors of consecutive tiles: positions 4 and 5 of tile tx are phases 0 and 1 of tile tx + 1.
     */
    private static void inputRow(float[] x, Geometry g, int c, int gr, int g0, int panels, float[] v) {
        Scratch s = SCRATCH.get();
        int tw = g.tw, w = g.w, stride = Math.ceilDiv(tw, L) * L + L; // room for the tx + 1 reads of the last vector
        float[] ph = s.phases = Scratch.grow(s.phases, 24 * stride);
        float[] yt = s.rows = Scratch.grow(s.rows, 24 * stride);
        float[] tiles = s.tiles = Scratch.grow(s.tiles, XI * stride);
        int n = gr / g.th, ty = gr % g.th, plane = (n * g.cin + c) * g.h * w;
        for (int i = 0; i < 6; i++) {
            int y = 4 * ty + i - 1;
            boolean inside = y >= 0 && y < g.h;
            int row = plane + y * w;
            for (int m = 0; m < 4; m++) {
                int d = (i * 4 + m) * stride;
                if (!inside) { java.util.Arrays.fill(ph, d, d + stride, 0f); continue; }
                for (int tx = 0; tx < stride; tx++) {
                    int xx = 4 * tx + m - 1;
                    ph[d + tx] = xx >= 0 && xx < w ? x[row + xx] : 0f;
                }
            }
        }
        for (int m = 0; m < 4; m++)
            for (int tx = 0; tx < stride; tx += L) columnPass(ph, yt, m, tx, stride);
        for (int r = 0; r < 6; r++)
            for (int tx = 0; tx < tw; tx += L) rowPass(yt, tiles, r, tx, stride);
        // into the panels: tile t of the chunk is lane t % NR of panel t / NR
        int t0 = (gr - g0) * tw;
        for (int xi = 0; xi < XI; xi++)
            for (int tx = 0; tx < tw; ) {
                int t = t0 + tx, lane = t % NR, n1 = Math.min(tw - tx, NR - lane);
                System.arraycopy(tiles, xi * stride + tx, v, ((xi * panels + t / NR) * g.cin + c) * NR + lane, n1);
                tx += n1;
            }
    }

    /** Bᵀ along y for phase m, tiles [tx, tx + L): six input rows in, six transformed rows out. */
    private static void columnPass(float[] ph, float[] yt, int m, int tx, int stride) {
        int o = m * stride + tx, st = 4 * stride;
        FloatVector d0 = FloatVector.fromArray(S, ph, o), d1 = FloatVector.fromArray(S, ph, o + st),
            d2 = FloatVector.fromArray(S, ph, o + 2 * st), d3 = FloatVector.fromArray(S, ph, o + 3 * st),
            d4 = FloatVector.fromArray(S, ph, o + 4 * st), d5 = FloatVector.fromArray(S, ph, o + 5 * st);
        FloatVector a = d2.fma(k(-4f), d4), b = d1.fma(k(-4f), d3), c = d4.sub(d2), e = d3.sub(d1).mul(2f);
        d0.mul(4f).add(d2.fma(k(-5f), d4)).intoArray(yt, o);
        a.add(b).intoArray(yt, o + st);
        a.sub(b).intoArray(yt, o + 2 * st);
        c.add(e).intoArray(yt, o + 3 * st);
        c.sub(e).intoArray(yt, o + 4 * st);
        d1.mul(4f).add(d3.fma(k(-5f), d5)).intoArray(yt, o + 5 * st);
    }

    /** Bᵀ along x for transformed row r, tiles [tx, tx + L): the tile's six columns are phases 0–3 at tx, 0–1 at tx + 1. */
    private static void rowPass(float[] yt, float[] tiles, int r, int tx, int stride) {
        int o = r * 4 * stride + tx, out = r * 6 * stride + tx;
        FloatVector d0 = FloatVector.fromArray(S, yt, o), d1 = FloatVector.fromArray(S, yt, o + stride),
            d2 = FloatVector.fromArray(S, yt, o + 2 * stride), d3 = FloatVector.fromArray(S, yt, o + 3 * stride),
            d4 = FloatVector.fromArray(S, yt, o + 1), d5 = FloatVector.fromArray(S, yt, o + stride + 1);
        FloatVector a = d2.fma(k(-4f), d4), b = d1.fma(k(-4f), d3), c = d4.sub(d2), e = d3.sub(d1).mul(2f);
        d0.mul(4f).add(d2.fma(k(-5f), d4)).intoArray(tiles, out);
        a.add(b).intoArray(tiles, out + stride);
        a.sub(b).intoArray(tiles, out + 2 * stride);
        c.add(e).intoArray(tiles, out + 3 * stride);
        c.sub(e).intoArray(tiles, out + 4 * stride);
        d1.mul(4f).add(d3.fma(k(-5f), d5)).intoArray(tiles, out + 5 * stride);
    }

    // ---- the products, filter and output transforms -------------------------------------------------------------

    /**
     * The 36 GEMMs of one chunk ({@code nt} tiles from tile row g0 on, in {@code panels} panels) and the output
     * transform, in tasks of output-channel blocks × panel blocks.
     */
    private static void products(Parallel par, Geometry g, Tensor weight, float[] bias, Activation act, float[] v,
                                 int g0, int nt, int panels, float[] out) {
        int kcp = Math.ceilDiv(kBlock(g.cin), L) * L;
        int tb = Math.clamp(FILTER_BUDGET / ((long) XI * MR * kcp), 1, Math.min(M_TILES, ceil(g.cout, MR)));
        int pb = Math.min(panels, PANELS);
        int tasksM = ceil(g.cout, tb * MR);
        while ((long) tasksM * ceil(panels, pb) < 3L * par.threads && (tb > 1 || pb > 1)) {
            if (pb >= tb) pb = ceil(pb, 2);
            else tb = ceil(tb, 2);
            tasksM = ceil(g.cout, tb * MR);
        }
        int mb = tb * MR, pbF = pb, tm = tasksM;
        par.forEach(tasksM * ceil(panels, pb), task -> {
            int co0 = task % tm * mb, p0 = task / tm * pbF;
            block(g, weight, bias, act, v, g0, nt, panels, co0, Math.min(mb, g.cout - co0), mb, p0, Math.min(pbF, panels - p0), out);
        });
    }

    /**
     * One task: output channels [co0, co0 + rows), panels [p0, p0 + pn). Per K block, the filter block is transformed
     * into U (in L2), then met by every panel of the task; M holds the task's 36 products until the last K block.
     */
    private static void block(Geometry g, Tensor weight, float[] bias, Activation act, float[] v, int g0, int nt,
                              int panels, int co0, int rows, int mb, int p0, int pn, float[] out) {
        Scratch s = SCRATCH.get();
        int cin = g.cin, ldm = pn * NR, kc = kBlock(cin), kcp = Math.ceilDiv(kc, L) * L, tiles = ceil(rows, MR);
        float[] u = s.u = Scratch.grow(s.u, XI * mb * kcp);
        float[] m = s.m = Scratch.grow(s.m, XI * mb * ldm);
        for (int k0 = 0; k0 < cin; k0 += kc) {
            int kcur = Math.min(kc, cin - k0);
            for (int r = 0; r < rows; r++) filterRow(weight, co0 + r, cin, k0, kcur, kcp, u, r, mb, s);
            for (int xi = 0; xi < XI; xi++)
                for (int p = p0; p < p0 + pn; p++) {
                    int bo = ((xi * panels + p) * cin + k0) * NR;
                    for (int t = 0; t < tiles; t++)
                        Gemm.kernelRows(u, (xi * mb + t * MR) * kcp, kcp, Math.min(MR, rows - t * MR), v, bo, kcur,
                            m, (xi * mb + t * MR) * ldm + (p - p0) * NR, ldm, k0 > 0);
                }
        }
        int cols = Math.min(ldm, nt - p0 * NR);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j += L)
                outputTiles(g, m, r * ldm + j, mb * ldm, bias == null ? 0f : bias[co0 + r], act, s.small, s.outTile,
                    co0 + r, g0 * g.tw + p0 * NR + j, Math.min(L, cols - j), out);
    }

    /**
     * G g Gᵀ for input channels [k0, k0 + kc) of output channel co, as row r of U_ξ ({@code u[(ξ·mb + r)·kcp + c]}),
     * vectorised over input channels. The weight's [kc][3][3] values are read (widened) once and split into nine taps.
     */
    private static void filterRow(Tensor weight, int co, int cin, int k0, int kc, int kcp, float[] u, int r, int mb, Scratch s) {
        float[] raw = s.filter = Scratch.grow(s.filter, 9 * kc);
        float[] taps = s.taps = Scratch.grow(s.taps, 9 * kcp);
        weight.read(((long) co * cin + k0) * 9, raw, 0, 9 * kc);
        for (int c = 0; c < kc; c++)
            for (int k = 0; k < 9; k++) taps[k * kcp + c] = raw[c * 9 + k];
        for (int c = kc; c < kcp; c++)
            for (int k = 0; k < 9; k++) taps[k * kcp + c] = 0f;
        for (int c = 0; c < kcp; c += L) filterVector(taps, kcp, c, u, r * kcp + c, mb * kcp, s.small);
    }

    private static final float F4 = 1 / 4f, F6 = 1 / 6f, F12 = 1 / 12f, F24 = 1 / 24f;

    /** One vector of input channels: taps [3][3] → U [6][6] (ξ = 6·row + column), ξ stride {@code xs}. */
    private static void filterVector(float[] taps, int kcp, int c, float[] u, int o, int xs, float[] t) {
        // G along y: each column of three taps → six rows, into t[(3·row + column)·L]
        for (int j = 0; j < 3; j++)
            gRows(FloatVector.fromArray(S, taps, j * kcp + c), FloatVector.fromArray(S, taps, (3 + j) * kcp + c),
                FloatVector.fromArray(S, taps, (6 + j) * kcp + c), t, j * L, 3 * L);
        // G along x: each row's three values → six, into U
        for (int i = 0; i < 6; i++)
            gRows(FloatVector.fromArray(S, t, 3 * i * L), FloatVector.fromArray(S, t, (3 * i + 1) * L),
                FloatVector.fromArray(S, t, (3 * i + 2) * L), u, o + 6 * i * xs, xs);
    }

    /** G·(g0, g1, g2) into out[at + k·step], k = 0..5. */
    private static void gRows(FloatVector g0, FloatVector g1, FloatVector g2, float[] out, int at, int step) {
        FloatVector a = g0.add(g2), b = g0.mul(F24).add(g2.mul(F6)), c = g1.mul(F12);
        g0.mul(F4).intoArray(out, at);
        a.add(g1).mul(-F6).intoArray(out, at + step);
        a.sub(g1).mul(-F6).intoArray(out, at + 2 * step);
        b.add(c).intoArray(out, at + 3 * step);
        b.sub(c).intoArray(out, at + 4 * step);
        g2.intoArray(out, at + 5 * step);
    }

    /**
     * Aᵀ m A for {@code lanes} consecutive tiles of one output channel (M_ξ at {@code m[o + ξ·xs]}), plus bias and
     * activation, written into the NCHW output where the 4×4 tile lies inside the image.
     */
    private static void outputTiles(Geometry g, float[] m, int o, int xs, float bias, Activation act, float[] z,
                                    float[] tmp, int co, int tile0, int lanes, float[] out) {
        // Aᵀ along x for each of the six rows into z[(4·row + k)·L], then along y for each of the four columns
        for (int i = 0; i < 6; i++) {
            int b = o + 6 * i * xs;
            aRows(FloatVector.fromArray(S, m, b), FloatVector.fromArray(S, m, b + xs), FloatVector.fromArray(S, m, b + 2 * xs),
                FloatVector.fromArray(S, m, b + 3 * xs), FloatVector.fromArray(S, m, b + 4 * xs), FloatVector.fromArray(S, m, b + 5 * xs),
                z, 4 * i * L, L);
        }
        for (int j = 0; j < 4; j++)
            aRows(FloatVector.fromArray(S, z, j * L), FloatVector.fromArray(S, z, (4 + j) * L), FloatVector.fromArray(S, z, (8 + j) * L),
                FloatVector.fromArray(S, z, (12 + j) * L), FloatVector.fromArray(S, z, (16 + j) * L), FloatVector.fromArray(S, z, (20 + j) * L),
                tmp, j * L, 4 * L);
        for (int k = 0; k < 16; k++)
            Pointwise.apply(act, FloatVector.fromArray(S, tmp, k * L).add(bias)).intoArray(tmp, k * L);
        int perImage = g.th * g.tw;
        for (int l = 0; l < lanes; l++) {
            int t = tile0 + l, n = t / perImage, ty = t % perImage / g.tw, tx = t % g.tw;
            int y0 = 4 * ty, x0 = 4 * tx, ny = Math.min(4, g.h - y0), nx = Math.min(4, g.w - x0);
            int base = ((n * g.cout + co) * g.h + y0) * g.w + x0;
            for (int i = 0; i < ny; i++)
                for (int j = 0; j < nx; j++) out[base + i * g.w + j] = tmp[(4 * i + j) * L + l];
        }
    }

    /** Aᵀ·(m0..m5) into out[at + k·step], k = 0..3. */
    private static void aRows(FloatVector m0, FloatVector m1, FloatVector m2, FloatVector m3, FloatVector m4, FloatVector m5,
                              float[] out, int at, int step) {
        FloatVector a = m1.add(m2), b = m1.sub(m2), c = m3.add(m4), d = m3.sub(m4);
        m0.add(a).add(c).intoArray(out, at);
        d.fma(k(2f), b).intoArray(out, at + step);
        c.fma(k(4f), a).intoArray(out, at + 2 * step);
        d.fma(k(8f), b).add(m5).intoArray(out, at + 3 * step);
    }

    private static FloatVector k(float v) { return FloatVector.broadcast(S, v); }
}
