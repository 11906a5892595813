package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.stitch.kernels.cpu.ParityCheck.assertClose;
import static dev.stitch.kernels.cpu.ParityCheck.assertIdentical;
import static dev.stitch.kernels.cpu.ParityCheck.mappedWeight;
import static dev.stitch.kernels.cpu.ParityCheck.randn;
import static dev.stitch.kernels.cpu.ParityCheck.rng;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of the CPU backend against the reference on fresh random inputs, at shapes that hit the kernels' edges:
 * sizes off the vector width and the register tile, single rows and columns, several K blocks and tasks. The CPU
 * backend poisons its outputs with NaN, so an element a kernel forgets to write fails the comparison.
 */
class CpuParityTest {
    private static final Backend REF = ReferenceBackend.INSTANCE;
    /** Three threads on any machine, so that work is always split (and unevenly). */
    private static final CpuBackend CPU = new CpuBackend(3, true);

    private static final Activation[] ACTS = Activation.values();

    @Test
    void poisonHookFillsNewOutputsWithNaN() {
        float[] out = CPU.alloc(37);
        for (float v : out) assertTrue(Float.isNaN(v));
    }

    @Test
    void linear() {
        Random r = rng("linear");
        int[][] mkn = {{1, 1, 1}, {1, 7, 5}, {5, 3, 33}, {13, 64, 31}, {37, 320, 70}, {64, 17, 96}, {6, 513, 32},
            {2, 320, 1280}, {200, 600, 45}, {7, 1, 16}};
        int i = 0;
        for (int[] s : mkn) {
            Activation act = ACTS[i % ACTS.length];
            // bias on every other case, not on 1×1×1: a lone x·w + b can cancel to near 0, where f32 rounding is all
            // a relative error measures
            boolean bias = i++ % 2 == 1;
            Tensor x = randn(r, s[0], s[1]), w = randn(r, 1 / Math.sqrt(s[1]), 0, s[2], s[1]);
            Tensor b = bias ? randn(r, s[2]) : null;
            assertClose("linear " + s[0] + "x" + s[1] + "x" + s[2] + " " + act + (bias ? " +bias" : ""),
                REF.linear(x, w, b, act), CPU.linear(x, w, b, act));
        }
        Tensor x3 = randn(r, 2, 7, 19), w = randn(r, 23, 19), b = randn(r, 23);
        assertClose("linear on [2, 7, 19]", REF.linear(x3, w, b, Activation.GELU), CPU.linear(x3, w, b, Activation.GELU));
        // the packed weight is cached: a second call with new inputs must use it correctly
        Tensor x4 = randn(r, 3, 7, 19);
        assertClose("linear, cached packing", REF.linear(x4, w, b, Activation.NONE), CPU.linear(x4, w, b, Activation.NONE));
    }

    @Test
    void linearWithMappedWeights() {
        Random r = rng("linearMapped");
        for (DType dt : DType.values()) {
            for (int[] s : new int[][] {{9, 40, 33}, {50, 130, 64}, {1, 16, 7}}) {
                Tensor x = randn(r, s[0], s[1]), w = mappedWeight(r, dt, 0.2, s[2], s[1]), b = randn(r, s[2]);
                // the reference widens the same file bytes, so both see identical weights
                assertClose("linear " + dt + " " + s[0] + "x" + s[1] + "x" + s[2],
                    REF.linear(x, w, b, Activation.SILU), CPU.linear(x, w, b, Activation.SILU));
            }
        }
    }

    @Test
    void mappedWeightsAreReadInPlaceWithNoSecondCopy() throws ReflectiveOperationException {
        Random r = rng("noWidening");
        var widened = Tensor.Mapped.class.getDeclaredField("widened");
        widened.setAccessible(true);
        var derived = Tensor.class.getDeclaredField("derived");
        derived.setAccessible(true);
        for (DType dt : DType.values()) {
            // big enough for several row blocks and K blocks
            Tensor lw = mappedWeight(r, dt, 0.2, 200, 300), cw = mappedWeight(r, dt, 0.2, 200, 33, 3, 3);
            Tensor x = randn(r, 40, 300), img = randn(r, 1, 33, 6, 6);
            assertClose("linear " + dt, REF.linear(x, lw, null, Activation.NONE), CPU.linear(x, lw, null, Activation.NONE));
            assertClose("conv2d " + dt, REF.conv2d(img, cw, null, 1, 1), CPU.conv2d(img, cw, null, 1, 1));
            // the reference above widened its own view; the CPU backend must have kept nothing: no widened f32 copy,
            // no packed form
            for (Tensor w : new Tensor[] {lw, cw}) {
                Tensor fresh = Tensor.mapped(((Tensor.Mapped) w.storage()).segment, dt, w.shape());
                CPU.linear(randn(r, 3, (int) (w.numel() / 200)), fresh.reshape(200, -1), null, Activation.NONE);
                CPU.conv2d(randn(r, 1, (int) (w.numel() / 200), 1, 1), fresh.reshape(200, -1, 1, 1), null, 1, 0);
                assertTrue(widened.get(fresh.storage()) == null, dt + ": the CPU backend widened a mapped weight to a full f32 copy");
                assertTrue(((java.util.Map<?, ?>) derived.get(fresh)).isEmpty(), dt + ": the CPU backend kept a packed copy of a weight");
            }
            // an embedding table (a text encoder's vocabulary): the looked-up rows only, from the file's bytes
            Tensor table = mappedWeight(r, dt, 1.0, 50, 24), fresh = Tensor.mapped(((Tensor.Mapped) table.storage()).segment, dt, 50, 24);
            int[] ids = {49, 0, 7, 7, 31};
            assertClose("embedding " + dt, REF.embedding(table, ids), CPU.embedding(fresh, ids));
            assertTrue(widened.get(fresh.storage()) == null, dt + ": the CPU backend widened a mapped embedding table whole");
        }
    }

    @Test
    void matmul() {
        Random r = rng("matmul");
        int[][] mkn = {{1, 1, 1}, {7, 5, 3}, {13, 33, 40}, {64, 1, 17}, {6, 300, 32}, {50, 64, 77}};
        for (int[] s : mkn)
            for (int batch : new int[] {0, 3})
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int m = s[0], k = s[1], n = s[2];
                    Tensor a = batch == 0 ? randn(r, ta ? k : m, ta ? m : k) : randn(r, batch, ta ? k : m, ta ? m : k);
                    Tensor b = batch == 0 ? randn(r, tb ? n : k, tb ? k : n) : randn(r, batch, tb ? n : k, tb ? k : n);
                    assertClose("matmul " + m + "x" + k + "x" + n + " batch " + batch + " transA " + ta + " transB " + tb,
                        REF.matmul(a, b, ta, tb), CPU.matmul(a, b, ta, tb));
                }
    }

    /** b, cin, h, w, cout, kh, kw, stride, pad top, bottom, left, right. */
    private static final int[][] CONVS = {
        {1, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1},
        {2, 17, 13, 11, 33, 3, 3, 1, 1, 1, 1, 1},
        {1, 8, 9, 7, 16, 3, 3, 2, 1, 1, 1, 1},
        {2, 5, 8, 10, 7, 3, 3, 2, 0, 1, 0, 1},   // the VAE encoder's asymmetric pad
        {1, 20, 6, 5, 40, 1, 1, 1, 0, 0, 0, 0},  // 1×1: a plain GEMM
        {2, 7, 9, 9, 6, 1, 1, 2, 0, 0, 0, 0},    // 1×1 stride 2
        {1, 6, 9, 12, 10, 1, 7, 1, 0, 0, 3, 3},  // Inception's 1×7
        {1, 6, 12, 9, 10, 7, 1, 1, 3, 3, 0, 0},  // and 7×1
        {1, 4, 11, 11, 3, 5, 5, 2, 0, 0, 0, 0},
        {1, 1, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1},    // a single pixel and input channel (4 outputs: one w·x + b alone
                                                  // could cancel to near 0, where f32 rounding is all a relative error sees)
        {1, 40, 5, 70, 13, 3, 3, 1, 1, 1, 1, 1}, // rows wider than a panel
        {1, 32, 16, 16, 96, 3, 3, 1, 1, 1, 1, 1}, // several K blocks (K = 288) and Cout tiles
        {1, 3, 10, 9, 4, 5, 5, 2, 2, 2, 2, 2},    // stride 2 reaching two pixels into the padding
        {1, 2, 3, 2, 3, 5, 5, 1, 2, 2, 2, 2},     // an image narrower than the kernel: rows mostly padding
        {2, 5, 3, 64, 7, 3, 3, 1, 1, 1, 1, 1},   // rows of whole panels
        {1, 5, 3, 130, 7, 3, 3, 1, 1, 1, 1, 1},  // wide rows with a partial panel
        {2, 6, 4, 34, 13, 3, 3, 1, 0, 0, 0, 0},  // no padding: the input itself is read
        {1, 9, 5, 64, 8, 1, 1, 1, 0, 0, 0, 0},   // 1×1 on wide rows
        {1, 3, 6, 32, 5, 1, 7, 1, 0, 0, 3, 3},   // 1×7 on a panel-wide row
        {1, 300, 3, 32, 6, 3, 3, 1, 1, 1, 1, 1}, // K = 2700: several K blocks
    };

    @Test
    void conv2d() {
        Random r = rng("conv2d");
        int i = 0;
        for (int[] s : CONVS) {
            Activation act = ACTS[i % ACTS.length];
            boolean bias = i++ % 3 != 2;
            Tensor x = randn(r, s[0], s[1], s[2], s[3]);
            Tensor w = randn(r, 1 / Math.sqrt(s[1] * s[5] * s[6]), 0, s[4], s[1], s[5], s[6]);
            Tensor b = bias ? randn(r, s[4]) : null;
            assertClose("conv2d " + java.util.Arrays.toString(s) + " " + act + (bias ? " +bias" : ""),
                REF.conv2d(x, w, b, s[7], s[8], s[9], s[10], s[11], act), CPU.conv2d(x, w, b, s[7], s[8], s[9], s[10], s[11], act));
        }
    }

    @Test
    void conv2dWithMappedWeights() {
        Random r = rng("conv2dMapped");
        for (DType dt : DType.values()) {
            Tensor x = randn(r, 2, 9, 10, 7), w = mappedWeight(r, dt, 0.1, 19, 9, 3, 3), b = randn(r, 19);
            assertClose("conv2d " + dt, REF.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE),
                CPU.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE));
            Tensor w1 = mappedWeight(r, dt, 0.1, 11, 9, 1, 1);
            assertClose("conv2d 1x1 " + dt, REF.conv2d(x, w1, null, 1, 0), CPU.conv2d(x, w1, null, 1, 0));
            Tensor wide = randn(r, 1, 9, 3, 64);
            assertClose("conv2d 3x3 wide " + dt, REF.conv2d(wide, w, b, 1, 1), CPU.conv2d(wide, w, b, 1, 1));
        }
    }

    @Test
    void groupNorm() {
        Random r = rng("groupNorm");
        int[][] shapes = {{2, 32, 5, 7}, {1, 64, 16, 16}, {3, 6, 3, 3}, {1, 20, 1, 1}, {2, 12, 33}};
        int[] groups = {8, 32, 3, 4, 6};
        for (int i = 0; i < shapes.length; i++)
            for (boolean silu : new boolean[] {false, true}) {
                // an offset mean makes the statistics work: a naive one-pass variance would fail here
                Tensor x = randn(r, 2, 3, shapes[i]);
                int c = shapes[i][1];
                Tensor g = randn(r, 0.5, 1, c), b = randn(r, c);
                assertClose("groupNorm " + java.util.Arrays.toString(shapes[i]) + " groups " + groups[i] + " silu " + silu,
                    REF.groupNorm(x, groups[i], g, b, 1e-5f, silu), CPU.groupNorm(x, groups[i], g, b, 1e-5f, silu));
            }
    }

    @Test
    void layerNorm() {
        Random r = rng("layerNorm");
        for (int[] s : new int[][] {{3, 5, 17}, {2, 77, 64}, {1, 1, 2}, {4, 320}, {2, 9, 1025}}) {
            int c = s[s.length - 1];
            Tensor x = randn(r, 1.5, -2, s), g = randn(r, 0.5, 1, c), b = randn(r, c);
            assertClose("layerNorm " + java.util.Arrays.toString(s), REF.layerNorm(x, g, b, 1e-5f), CPU.layerNorm(x, g, b, 1e-5f));
        }
    }

    @Test
    void attention() {
        Random r = rng("attention");
        // b, lq, lk, heads, head dim, causal
        int[][] cases = {{1, 1, 1, 1, 8, 0}, {2, 5, 1, 2, 16, 0}, {2, 50, 77, 5, 64, 0}, {1, 100, 100, 2, 40, 1},
            {1, 300, 300, 1, 33, 0}, {1, 70, 70, 3, 8, 1}, {2, 10, 20, 2, 12, 1}, {1, 20, 10, 1, 7, 1}, {1, 61, 513, 2, 5, 0}};
        for (int[] s : cases) {
            int c = s[3] * s[4];
            boolean causal = s[5] == 1;
            Tensor q = randn(r, s[0], s[1], c), k = randn(r, s[0], s[2], c), v = randn(r, s[0], s[2], c);
            float scale = (float) (1 / Math.sqrt(s[4]));
            assertClose("attention " + java.util.Arrays.toString(s),
                REF.attention(q, k, v, s[3], scale, causal), CPU.attention(q, k, v, s[3], scale, causal));
        }
    }

    private static Tensor clamp(Tensor t, float limit) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = Math.clamp(d[i], -limit, limit);
        return t;
    }

    @Test
    void geluIsWithin1e6OfTheExactValueEverywhere() {
        int n = 100_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        Tensor t = Tensor.of(x, n);
        float[] ref = REF.gelu(t).data(), cpu = CPU.gelu(t).data();
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assertTrue(Float.isFinite(cpu[i]), "gelu(" + x[i] + ") is not finite");
            worst = Math.max(worst, Math.abs((double) ref[i] - cpu[i]));
        }
        assertTrue(worst <= 1e-6, "gelu max-abs error " + worst);
    }

    @Test
    void activations() {
        Random r = rng("activations");
        for (int[] s : new int[][] {{1}, {15}, {3, 17}, {2, 1000}, {70000}}) {
            // within ±5, where the f32 GELU keeps a relative error near 2e-6: further out x·Φ(x) falls under 1e-6 and
            // its relative error grows with the rounding of x²/2 in exp(−x²/2) (8e-6 at −9, vectorGelu… measures it);
            // a one-element tensor would measure only that
            Tensor x = clamp(randn(r, 2.5f, 0, s), 5);
            String shape = java.util.Arrays.toString(s);
            assertClose("silu " + shape, REF.silu(x), CPU.silu(x));
            assertClose("gelu " + shape, REF.gelu(x), CPU.gelu(x));
            // one value may be negative, a ReLU of zeros: reluIsExact… covers that case
            if (x.numel() > 1) assertClose("relu " + shape, REF.relu(x), CPU.relu(x));
            assertClose("tanh " + shape, REF.tanh(x), CPU.tanh(x));
        }
        for (int[] s : new int[][] {{1, 2}, {3, 34}, {2, 7, 2560}}) {
            Tensor x = clamp(randn(r, 3, 0, s), 5);  // the gate half within ±5, as for GELU above
            assertClose("geglu " + java.util.Arrays.toString(s), REF.geglu(x), CPU.geglu(x));
        }
    }

    @Test
    void reluIsExactAndKeepsNaNAsTorch() {
        float[] x = {-2.5f, -0f, 0f, 1e-30f, 3.25f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -1e-30f};
        float[] want = {0f, 0f, 0f, 1e-30f, 3.25f, Float.NaN, 0f, Float.POSITIVE_INFINITY, 0f};
        for (var be : new dev.stitch.kernels.Backend[] {REF, CPU}) {
            float[] got = be.toHost(be.relu(Tensor.of(x, x.length)));
            for (int i = 0; i < x.length; i++)
                assertTrue(Float.isNaN(want[i]) ? Float.isNaN(got[i]) : got[i] == want[i],
                    be.name() + ": relu(" + x[i] + ") = " + got[i] + ", expected " + want[i]);
        }
    }

    @Test
    void vectorGeluMatchesTheExactDefinition() {
        int n = 200_001;
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        Pointwise.act(Activation.GELU, x, y, 0, n);
        double worst = 0, worstRelative = 0;
        for (int i = 0; i < n; i++) {
            double exact = 0.5 * x[i] * dev.stitch.kernels.Erf.erfc(-x[i] / Math.sqrt(2));
            worst = Math.max(worst, Math.abs(y[i] - exact) / Math.max(1, Math.abs(x[i])));
            // relative accuracy in the negative tail, down to where x·Φ(x) leaves the normal floats (x ≈ −9)
            if (x[i] >= -9 && x[i] != 0) worstRelative = Math.max(worstRelative, Math.abs(y[i] - exact) / Math.abs(exact));
        }
        assertTrue(worst < 1e-6, "vector GELU differs from x·Φ(x) by " + worst + " (relative to max(1, |x|))");
        assertTrue(worstRelative < 1e-5, "vector GELU relative error " + worstRelative);
        System.out.println("vector GELU: max error " + worst + " (scaled), relative " + worstRelative + " on [-9, 12]");
    }

    @Test
    void elementwise() {
        Random r = rng("elementwise");
        for (int[] s : new int[][] {{1}, {5, 3}, {2, 70001}}) {
            Tensor a = randn(r, s), b = randn(r, s);
            String shape = java.util.Arrays.toString(s);
            assertIdentical("add " + shape, REF.add(a, b), CPU.add(a, b));
            assertIdentical("mul " + shape, REF.mul(a, b), CPU.mul(a, b));
            assertIdentical("scale " + shape, REF.scale(a, 0.37f), CPU.scale(a, 0.37f));
        }
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 5, 3, 7}, {2, 320, 16, 16}}) {
            Tensor x = randn(r, s), v = randn(r, s[0], s[1]);
            assertIdentical("addChannels " + java.util.Arrays.toString(s), REF.addChannels(x, v), CPU.addChannels(x, v));
        }
    }

    @Test
    void pooling() {
        Random r = rng("pooling");
        for (int[] s : new int[][] {{1, 1, 5, 5}, {2, 3, 9, 8}, {1, 17, 35, 35}}) {
            Tensor x = randn(r, s);
            String shape = java.util.Arrays.toString(s);
            for (int[] kp : new int[][] {{3, 2, 0}, {3, 1, 1}, {2, 2, 0}, {3, 2, 1}}) {
                String what = shape + " k" + kp[0] + " s" + kp[1] + " p" + kp[2];
                assertIdentical("maxPool2d " + what, REF.maxPool2d(x, kp[0], kp[1], kp[2]), CPU.maxPool2d(x, kp[0], kp[1], kp[2]));
                for (boolean countPad : new boolean[] {false, true})
                    assertClose("avgPool2d " + what + " countPad " + countPad,
                        REF.avgPool2d(x, kp[0], kp[1], kp[2], countPad), CPU.avgPool2d(x, kp[0], kp[1], kp[2], countPad));
            }
        }
    }

    @Test
    void layout() {
        Random r = rng("layout");
        Tensor x = randn(r, 2, 5, 7, 9);
        assertIdentical("upsample 2x", REF.upsampleNearest(x, 14, 18), CPU.upsampleNearest(x, 14, 18));
        assertIdentical("upsample odd", REF.upsampleNearest(x, 11, 13), CPU.upsampleNearest(x, 11, 13));
        assertIdentical("resize down", REF.upsampleNearest(x, 4, 5), CPU.upsampleNearest(x, 4, 5));
        Tensor y = randn(r, 2, 3, 7, 9), z = randn(r, 2, 5, 7, 4);
        assertIdentical("concat channels", REF.concat(1, x, y), CPU.concat(1, x, y));
        assertIdentical("concat last", REF.concat(-1, x, z), CPU.concat(-1, x, z));
        assertIdentical("concat batch", REF.concat(0, x, x, x), CPU.concat(0, x, x, x));
        assertIdentical("slice axis 1", REF.slice(x, 1, 1, 4), CPU.slice(x, 1, 1, 4));
        assertIdentical("slice last", REF.slice(x, -1, 3, 9), CPU.slice(x, -1, 3, 9));
        assertIdentical("slice empty", REF.slice(x, 2, 3, 3), CPU.slice(x, 2, 3, 3));
        for (int[] s : new int[][] {{2, 5, 7, 9}, {1, 1, 1, 1}, {1, 70, 33, 35}}) {
            Tensor t = randn(r, s);
            assertIdentical("nchwToNlc " + java.util.Arrays.toString(s), REF.nchwToNlc(t), CPU.nchwToNlc(t));
            Tensor nlc = randn(r, s[0], s[2] * s[3], s[1]);
            assertIdentical("nlcToNchw " + java.util.Arrays.toString(s), REF.nlcToNchw(nlc, s[2], s[3]), CPU.nlcToNchw(nlc, s[2], s[3]));
        }
    }

    @Test
    void embeddings() {
        Random r = rng("embeddings");
        Tensor table = randn(r, 50, 24);
        int[] ids = {0, 49, 7, 7, 13};
        assertIdentical("embedding", REF.embedding(table, ids), CPU.embedding(table, ids));
        float[] t = {0f, 1f, 999f, 421.5f};
        for (int dim : new int[] {320, 7, 4})
            for (boolean flip : new boolean[] {false, true})
                assertIdentical("timestepEmbedding dim " + dim + " flip " + flip,
                    REF.timestepEmbedding(t, dim, flip, 1f), CPU.timestepEmbedding(t, dim, flip, 1f));
    }

    // ---- along one axis: [B, C, H·W] (strided vectors, lanes over positions) and [B, L, C] (contiguous vectors) ---

    /** Shapes with the axis of the vectors: both layouts, sizes off the vector width, one position, one channel. */
    private static final int[][] ALONG = {
        {2, 20, 35, 1}, {3, 7, 9, 1}, {2, 1, 17, 1}, {1, 64, 1, 1}, {2, 320, 64, 1},   // [B, C, S], axis 1
        {2, 35, 20, 2}, {3, 9, 7, 2}, {2, 17, 1, 2}, {1, 1, 64, 2}, {2, 77, 1029, 2},  // [B, L, C], axis 2
    };

    @Test
    void meanAndProjectionAlongAnAxis() {
        Random r = rng("along");
        for (int[] s : ALONG) {
            Tensor x = randn(r, 1.5, 0.3, s[0], s[1], s[2]);
            String shape = java.util.Arrays.toString(s);
            for (int axis : new int[] {1, 2, -1, 0})
                assertClose("mean " + shape + " axis " + axis, REF.mean(x, axis), CPU.mean(x, axis));
            int ax = s[3];
            Tensor u = randn(r, x.dim(ax));
            // an f32 dot product is accurate relative to Σ|xᵢuᵢ|, not to the sum, which a single random draw can put
            // near zero (one output of 64 cancelling terms read 7.6e-5 relative in 300 seeds): scale by that condition
            Tensor ref = REF.project(x, ax, u);
            double cond = Math.sqrt(energy(REF.project(abs(x), ax, abs(u))) / energy(ref));
            assertClose("project " + shape, ref, CPU.project(x, ax, u), ParityCheck.TOL * Math.max(1, cond));
        }
        // thousands of positions: the f32 partial sums must not drift from the double reference
        Tensor big = randn(r, 3, 5, 2, 40_000);
        assertClose("mean over 40 000 positions", REF.mean(big, 2), CPU.mean(big, 2));
        Tensor tokens = randn(r, 3, 5, 2, 4_097, 7);
        assertClose("mean over 4 097 tokens", REF.mean(tokens, 1), CPU.mean(tokens, 1));
    }

    private static Tensor abs(Tensor t) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = Math.abs(d[i]);
        return Tensor.of(d, t.shape());
    }

    private static double energy(Tensor t) {
        double e = 0;
        for (float v : t.data()) e += (double) v * v;
        return e;
    }

    @Test
    void addDirectionInEveryFormOnChosenRows() {
        Random r = rng("addDirection");
        int i = 0;
        for (int[] s : ALONG) {
            Tensor x = randn(r, s[0], s[1], s[2]);
            int ax = s[3];
            Tensor u = randn(r, 0.5, 0, x.dim(ax));
            int[] rows = i % 3 == 0 ? new int[] {s[0] - 1} : i % 3 == 1 ? allRows(s[0]) : new int[] {0};
            String shape = java.util.Arrays.toString(s) + " rows " + java.util.Arrays.toString(rows);
            boolean keep = i++ % 2 == 0;
            // add, ablate, gated and clamp, as steering forms them
            assertClose("add " + shape, REF.addDirection(x, ax, u, 0, 2.5f, false, keep, rows),
                CPU.addDirection(x, ax, u, 0, 2.5f, false, keep, rows));
            assertClose("ablate " + shape, REF.addDirection(x, ax, u, -0.7f, 0, false, keep, rows),
                CPU.addDirection(x, ax, u, -0.7f, 0, false, keep, rows));
            assertClose("gated " + shape, REF.addDirection(x, ax, u, -1, 0, true, !keep, rows),
                CPU.addDirection(x, ax, u, -1, 0, true, !keep, rows));
            assertClose("clamp " + shape, REF.addDirection(x, ax, u, -0.5f, 1.25f, false, !keep, rows),
                CPU.addDirection(x, ax, u, -0.5f, 1.25f, false, !keep, rows));
        }
        Tensor x = randn(r, 2, 5, 3, 4);
        assertIdentical("no rows chosen: a copy", x, CPU.addDirection(x, 1, randn(r, 5), -1, 0.5f, true, true, new int[0]));
    }

    @Test
    void transportOnChosenRows() {
        Random r = rng("transport");
        int i = 0;
        for (int[] s : ALONG) {
            Tensor x = randn(r, s[0], s[1], s[2]);
            int ax = s[3], c = x.dim(ax);
            Tensor omega = randn(r, 0.3, 1, c), beta = randn(r, 0.5, 0, c);
            Tensor lo = randn(r, 0.5, -1, c), hi = randn(r, 0.5, 1, c);   // about a third of the values fall outside
            int[] rows = i % 2 == 0 ? allRows(s[0]) : new int[] {s[0] - 1};
            boolean keep = i++ % 3 == 0;
            assertClose("transport " + java.util.Arrays.toString(s) + " keepNorm " + keep,
                REF.transport(x, ax, omega, beta, lo, hi, 0.8f, keep, rows), CPU.transport(x, ax, omega, beta, lo, hi, 0.8f, keep, rows));
        }
    }

    private static int[] allRows(int b) {
        int[] rows = new int[b];
        for (int i = 0; i < b; i++) rows[i] = b - 1 - i;   // any order
        return rows;
    }
}
