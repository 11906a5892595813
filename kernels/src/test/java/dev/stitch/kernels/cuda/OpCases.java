package dev.stitch.kernels.cuda;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Every op of the {@link Backend} contract on small random inputs whose shapes cross the kernels' tile edges (odd
 * sizes, K not a multiple of 4 or 32, several tiles in M and N), for the CUDA parity test (against the reference
 * backend) and the launch test (against a recording driver). Inputs are host tensors made once per case.
 */
final class OpCases {
    /** {@code tensorCores}: the op runs on the matrix engine in f16/bf16 mode, so the half tolerance applies. */
    record OpCase(String name, boolean tensorCores, Function<Backend, Tensor> run) {
        @Override public String toString() { return name; }
    }

    private final SplittableRandom random;
    private final List<OpCase> cases = new ArrayList<>();

    private OpCases(long seed) { random = new SplittableRandom(seed); }

    private Tensor rand(int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) (random.nextDouble() * 2 - 1);
        return Tensor.of(d, shape);
    }

    /** A weight as a little-endian file region in {@code dtype}, like a safetensors tensor. */
    private Tensor mapped(DType dtype, int... shape) {
        float[] d = rand(shape).data();
        MemorySegment seg = Arena.ofAuto().allocate((long) d.length * dtype.bytes, 16);
        var f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        var i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < d.length; i++)
            switch (dtype) {
                case F32 -> seg.setAtIndex(f32, i, d[i]);
                case F16 -> seg.setAtIndex(i16, i, DType.f32ToF16(d[i]));
                case BF16 -> seg.setAtIndex(i16, i, DType.f32ToBf16(d[i]));
            }
        return Tensor.mapped(seg, dtype, shape);
    }

    private void add(String name, boolean tensorCores, Function<Backend, Tensor> run) { cases.add(new OpCase(name, tensorCores, run)); }

    static List<OpCase> all(long seed) {
        OpCases c = new OpCases(seed);
        c.build();
        return c.cases;
    }

    private void build() {
        // ---- linear: tile tails, K % 4 != 0, K % 32 != 0, several tiles, each activation, weights from files
        for (Activation act : Activation.values()) {
            Tensor x = rand(2, 37, 72), w = rand(50, 72), b = rand(50);
            add("linear " + act, true, be -> be.linear(x, w, b, act));
        }
        { Tensor x = rand(5, 33), w = rand(20, 33); add("linear K=33 no bias", true, be -> be.linear(x, w, null, Activation.NONE)); }
        { Tensor x = rand(300, 160), w = rand(260, 160), b = rand(260); add("linear 300x160x260", true, be -> be.linear(x, w, b, Activation.NONE)); }
        { Tensor x = rand(2, 1), w = rand(320, 1), b = rand(320); add("linear K=1", true, be -> be.linear(x, w, b, Activation.SILU)); }
        for (DType dt : DType.values()) {
            Tensor x = rand(3, 17, 64), w = mapped(dt, 96, 64), b = mapped(dt, 96);
            add("linear " + dt + " file weight", true, be -> be.linear(x, w, b, Activation.GELU));
        }

        // ---- matmul: 2-D with every transpose, batched
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = ta ? rand(17, 33) : rand(33, 17), b = tb ? rand(29, 17) : rand(17, 29);
                add("matmul transA=" + ta + " transB=" + tb, false, be -> be.matmul(a, b, ta, tb));
                Tensor a3 = ta ? rand(3, 12, 70) : rand(3, 70, 12), b3 = tb ? rand(3, 9, 12) : rand(3, 12, 9);
                add("matmul batched transA=" + ta + " transB=" + tb, false, be -> be.matmul(a3, b3, ta, tb));
            }

        // ---- conv2d: 3x3 same, stride 2 with the VAE's (0,1,0,1) padding, 1x1, conv_in's 4 channels, N > 128
        { Tensor x = rand(2, 5, 9, 11), w = rand(7, 5, 3, 3), b = rand(7); add("conv 3x3 s1 p1", true, be -> be.conv2d(x, w, b, 1, 1)); }
        { Tensor x = rand(2, 6, 9, 12), w = rand(8, 6, 3, 3), b = rand(8);
          add("conv 3x3 s2 pad 0,1,0,1", true, be -> be.conv2d(x, w, b, 2, 0, 1, 0, 1, Activation.NONE)); }
        { Tensor x = rand(2, 24, 7, 6), w = rand(40, 24, 1, 1), b = rand(40); add("conv 1x1", true, be -> be.conv2d(x, w, b, 1, 0)); }
        { Tensor x = rand(1, 4, 8, 8), w = rand(16, 4, 3, 3), b = rand(16); add("conv K=36", true, be -> be.conv2d(x, w, b, 1, 1)); }
        { Tensor x = rand(1, 40, 12, 13), w = rand(136, 40, 3, 3), b = rand(136);
          add("conv 136 out, SiLU", true, be -> be.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.SILU)); }
        { Tensor x = rand(1, 3, 10, 10), w = rand(5, 3, 5, 5); add("conv 5x5 s2 p2 no bias", true, be -> be.conv2d(x, w, null, 2, 2)); }
        { Tensor x = rand(1, 8, 6, 6), w = mapped(DType.F16, 12, 8, 3, 3), b = mapped(DType.F16, 12);
          add("conv F16 file weight", true, be -> be.conv2d(x, w, b, 1, 1)); }

        // ---- norms
        for (boolean silu : new boolean[] {false, true}) {
            Tensor x = rand(2, 32, 6, 5), g = rand(32), b = rand(32);
            add("groupNorm silu=" + silu, false, be -> be.groupNorm(x, 8, g, b, 1e-5f, silu));
        }
        { Tensor x = rand(2, 16, 10), g = rand(16), b = rand(16); add("groupNorm [B,C,L]", false, be -> be.groupNorm(x, 4, g, b, 1e-6f, false)); }
        { Tensor x = rand(3, 7, 96), g = rand(96), b = rand(96); add("layerNorm 96", false, be -> be.layerNorm(x, g, b, 1e-5f)); }
        { Tensor x = rand(5, 40), g = rand(40), b = rand(40); add("layerNorm 40", false, be -> be.layerNorm(x, g, b, 1e-5f)); }

        // ---- attention: every fused head size, causal, Lq != Lk, and the GEMM fallback (24, the VAE's 512)
        for (int d : new int[] {16, 32, 40, 64, 80, 128, 160, 24}) {
            int heads = 2;
            Tensor q = rand(2, 70, heads * d), k = rand(2, 77, heads * d), v = rand(2, 77, heads * d);
            float scale = (float) (1 / Math.sqrt(d));
            add("attention d=" + d, false, be -> be.attention(q, k, v, heads, scale, false));
            Tensor kc = rand(2, 70, heads * d), vc = rand(2, 70, heads * d);
            add("attention d=" + d + " causal", false, be -> be.attention(q, kc, vc, heads, scale, true));
        }
        { Tensor q = rand(1, 64, 512), k = rand(1, 64, 512), v = rand(1, 64, 512);
          add("attention d=512 one head", false, be -> be.attention(q, k, v, 1, (float) (1 / Math.sqrt(512)), false)); }

        // ---- elementwise
        { Tensor x = rand(3, 1000); add("silu", false, be -> be.silu(x)); add("gelu", false, be -> be.gelu(x)); add("relu", false, be -> be.relu(x)); add("tanh", false, be -> be.tanh(x)); add("scale", false, be -> be.scale(x, -1.75f)); }
        { Tensor x = rand(2, 5, 64); add("geglu", false, be -> be.geglu(x)); }
        { Tensor a = rand(4, 333), b = rand(4, 333); add("add", false, be -> be.add(a, b)); add("mul", false, be -> be.mul(a, b)); }
        { Tensor x = rand(2, 6, 5, 7), v = rand(2, 6); add("addChannels", false, be -> be.addChannels(x, v)); }

        // ---- pooling
        { Tensor x = rand(2, 3, 9, 10);
          add("avgPool2d", false, be -> be.avgPool2d(x, 3, 2, 1, false));
          add("avgPool2d countPad", false, be -> be.avgPool2d(x, 3, 2, 1, true));
          add("maxPool2d", false, be -> be.maxPool2d(x, 3, 2, 1)); }

        // ---- layout
        { Tensor x = rand(2, 3, 5, 6);
          add("upsampleNearest 2x", false, be -> be.upsampleNearest(x, 10, 12));
          add("upsampleNearest 7x9", false, be -> be.upsampleNearest(x, 7, 9)); }
        { Tensor a = rand(2, 3, 4, 5), b = rand(2, 1, 4, 5), c = rand(2, 6, 4, 5);
          add("concat axis 1", false, be -> be.concat(1, a, b, c));
          add("slice axis 1", false, be -> be.slice(c, 1, 1, 4)); }
        { Tensor a = rand(2, 7, 3), b = rand(2, 7, 5);
          add("concat axis -1", false, be -> be.concat(-1, a, b));
          add("slice axis -1", false, be -> be.slice(b, -1, 2, 5)); }
        { Tensor x = rand(2, 37, 5, 7); add("nchwToNlc", false, be -> be.nchwToNlc(x)); }
        { Tensor x = rand(2, 35, 37); add("nlcToNchw", false, be -> be.nlcToNchw(x, 5, 7)); }
        { Tensor t = rand(50, 24); int[] ids = {0, 49, 7, 7, 13}; add("embedding", false, be -> be.embedding(t, ids)); }
        add("timestepEmbedding 320 flip", false, be -> be.timestepEmbedding(new float[] {1, 500.5f, 999}, 320, true, 0));
        add("timestepEmbedding 33 shift 1", false, be -> be.timestepEmbedding(new float[] {0, 42, 981}, 33, false, 1));

        // ---- along one axis: strided ([B, C, H·W], axis 1) and contiguous ([B, L, C], axis 2) vectors
        for (int[] sh : new int[][] {{2, 37, 45, 1}, {2, 45, 37, 2}}) {
            Tensor x = rand(sh[0], sh[1], sh[2]);
            int ax = sh[3], c = x.dim(ax);
            Tensor u = rand(c), omega = rand(c), beta = rand(c), lo = rand(c), hi = rand(c);
            for (int i = 0; i < c; i++) hi.data()[i] = lo.data()[i] + 1;
            String l = " axis " + ax;
            add("mean" + l, false, be -> be.mean(x, ax));
            add("mean over positions" + l, false, be -> be.mean(x, 3 - ax));
            add("project" + l, false, be -> be.project(x, ax, u));
            add("addDirection add" + l, false, be -> be.addDirection(x, ax, u, 0, 1.5f, false, false, new int[] {1}));
            add("addDirection ablate keepNorm" + l, false, be -> be.addDirection(x, ax, u, -1, 0, false, true, new int[] {0, 1}));
            add("addDirection gated" + l, false, be -> be.addDirection(x, ax, u, -0.5f, 0, true, false, new int[] {0}));
            add("addDirection clamp" + l, false, be -> be.addDirection(x, ax, u, -1, 0.75f, false, false, new int[] {1, 0}));
            add("transport" + l, false, be -> be.transport(x, ax, omega, beta, lo, hi, 0.7f, false, new int[] {0, 1}));
            add("transport keepNorm" + l, false, be -> be.transport(x, ax, omega, beta, lo, hi, 1f, true, new int[] {1}));
        }

        // ---- a chain that keeps its tensors on the device between ops (a miniature transformer block)
        { Tensor x = rand(2, 16, 6, 6), gn = rand(16), gb = rand(16), cw = rand(32, 16, 3, 3), cb = rand(32), temb = rand(2, 32);
          Tensor lg = rand(32), lb = rand(32), wq = rand(32, 32), wk = rand(32, 32), wv = rand(32, 32), wo = rand(32, 32), ob = rand(32);
          add("chain", true, be -> {
              Tensor h = be.addChannels(be.conv2d(be.groupNorm(be.fromHost(x.data().clone(), x.shape()), 4, gn, gb, 1e-5f, true),
                  cw, cb, 1, 1), temb);
              Tensor t = be.layerNorm(be.nchwToNlc(h), lg, lb, 1e-5f);
              Tensor a = be.attention(be.linear(t, wq, null, Activation.NONE), be.linear(t, wk, null, Activation.NONE),
                  be.linear(t, wv, null, Activation.NONE), 2, 0.25f, false);
              return be.add(be.nlcToNchw(be.linear(a, wo, ob, Activation.NONE), 6, 6), h);
          }); }
    }
}
