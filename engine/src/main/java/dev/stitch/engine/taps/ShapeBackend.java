package dev.stitch.engine.taps;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Shapes;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;

/**
 * A backend that computes shapes only (PyTorch's "meta" device): every op checks its operands' shapes as the
 * reference backend does and returns a tensor without numbers. A full-size forward pass then costs microseconds,
 * which is how {@link TapCatalog} lists a model's taps at any image size. Reading numbers from its tensors fails.
 */
public final class ShapeBackend implements Backend {
    public static final ShapeBackend INSTANCE = new ShapeBackend();

    /** Storage with no numbers. */
    private record NoData() implements Tensor.Storage {}

    private static final NoData NO_DATA = new NoData();

    private static Tensor t(int... shape) { return Tensor.wrap(NO_DATA, DType.F32, shape); }

    private static void check(boolean ok, String what) { Shapes.check(ok, what); }

    private static String s(Tensor x) { return Arrays.toString(x.shape()); }

    private static int[] withLast(Tensor x, int last) {
        int[] s = x.shape();
        s[s.length - 1] = last;
        return s;
    }

    @Override public String name() { return "shapes"; }

    @Override public Tensor fromHost(float[] data, int... shape) {
        check(Tensor.count(shape) == data.length, "fromHost: " + data.length + " values for " + Arrays.toString(shape));
        return t(shape);
    }

    @Override public float[] toHost(Tensor x) { throw new IllegalStateException("the shape backend computes no numbers"); }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        check(w.rank() == 2 && w.dim(1) == x.dim(-1) && (b == null || b.numel() == w.dim(0)), "linear: x " + s(x) + " vs w " + s(w));
        return t(withLast(x, w.dim(0)));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return t(Shapes.matmul(a, b, transA, transB).shape(a.rank() == 3));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr, Activation act) {
        return t(Shapes.conv2d(x, w, b, stride, pt, pb, pl, pr));
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        check(x.dim(1) % groups == 0 && gamma.numel() == x.dim(1), "groupNorm: " + s(x) + " in " + groups + " groups, gamma " + s(gamma));
        return t(x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        check(gamma.numel() == x.dim(-1), "layerNorm: x " + s(x) + " vs gamma " + s(gamma));
        return t(x.shape());
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        int c = q.dim(2);
        check(c % heads == 0 && k.dim(2) == c && v.dim(2) == c && k.dim(0) == q.dim(0) && v.dim(0) == q.dim(0) && v.dim(1) == k.dim(1),
            "attention: q " + s(q) + " k " + s(k) + " v " + s(v));
        return t(q.shape());
    }

    @Override public Tensor silu(Tensor x) { return t(x.shape()); }

    @Override public Tensor gelu(Tensor x) { return t(x.shape()); }

    @Override
    public Tensor geglu(Tensor x) {
        check(x.dim(-1) % 2 == 0, "geglu: odd last dimension " + x.dim(-1));
        return t(withLast(x, x.dim(-1) / 2));
    }

    private static Tensor same(Tensor a, Tensor b) {
        check(Arrays.equals(a.shape(), b.shape()), "shapes " + s(a) + " vs " + s(b));
        return t(a.shape());
    }

    @Override public Tensor add(Tensor a, Tensor b) { return same(a, b); }

    @Override public Tensor mul(Tensor a, Tensor b) { return same(a, b); }

    @Override public Tensor scale(Tensor a, float s) { return t(a.shape()); }

    @Override
    public Tensor addChannels(Tensor x, Tensor v) {
        check(v.rank() == 2 && v.dim(0) == x.dim(0) && v.dim(1) == x.dim(1), "addChannels: x " + s(x) + " v " + s(v));
        return t(x.shape());
    }

    @Override
    public Tensor avgPool2d(Tensor x, int k, int stride, int pad, boolean countPad) { return pool(x, k, stride, pad); }

    @Override
    public Tensor maxPool2d(Tensor x, int k, int stride, int pad) { return pool(x, k, stride, pad); }

    private static Tensor pool(Tensor x, int k, int stride, int pad) {
        return t(x.dim(0), x.dim(1), (x.dim(2) + 2 * pad - k) / stride + 1, (x.dim(3) + 2 * pad - k) / stride + 1);
    }

    @Override public Tensor upsampleNearest(Tensor x, int oh, int ow) { return t(x.dim(0), x.dim(1), oh, ow); }

    @Override
    public Tensor concat(int axis, Tensor... xs) { return t(Shapes.concat(Shapes.axis("concat", axis, xs[0].rank()), xs)); }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        return t(Shapes.slice(x, Shapes.axis("slice", axis, x.rank()), start, end));
    }

    @Override public Tensor nchwToNlc(Tensor x) { return t(x.dim(0), x.dim(2) * x.dim(3), x.dim(1)); }

    @Override
    public Tensor nlcToNchw(Tensor x, int h, int w) {
        check(x.dim(1) == h * w, "nlcToNchw: " + x.dim(1) + " tokens for " + h + "x" + w);
        return t(x.dim(0), x.dim(2), h, w);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        for (int id : ids) check(id >= 0 && id < table.dim(0), "embedding: id " + id + " outside [0, " + table.dim(0) + ")");
        return t(ids.length, table.dim(1));
    }

    @Override public Tensor timestepEmbedding(float[] ts, int dim, boolean flipSinToCos, float shift) { return t(ts.length, dim); }
}
