package dev.stitch.kernels;

/**
 * A backend that computes shapes only (PyTorch's "meta" device): every op checks its operands with {@link Shapes},
 * as the computing backends do, and returns a tensor without numbers. A full-size forward pass then costs
 * microseconds, which is how the engine's tap catalog lists a model's taps at any image size. Reading numbers from
 * its tensors fails.
 */
public final class ShapeBackend implements Backend {
    public static final ShapeBackend INSTANCE = new ShapeBackend();

    /** Storage with no numbers. */
    private record NoData() implements Tensor.Storage {}

    private static final NoData NO_DATA = new NoData();

    private static Tensor t(int... shape) { return Tensor.wrap(NO_DATA, DType.F32, shape); }

    @Override public String name() { return "shapes"; }

    @Override public Tensor fromHost(float[] data, int... shape) { return t(Shapes.fromHost(data, shape)); }

    @Override public float[] toHost(Tensor x) { throw new IllegalStateException("the shape backend computes no numbers"); }

    @Override public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) { return t(Shapes.linear(x, w, b)); }

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
        return t(Shapes.groupNorm(x, groups, gamma, beta));
    }

    @Override public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return t(Shapes.layerNorm(x, gamma, beta)); }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        return t(Shapes.attention(q, k, v, heads));
    }

    @Override public Tensor silu(Tensor x) { return t(Shapes.unary(x)); }

    @Override public Tensor gelu(Tensor x) { return t(Shapes.unary(x)); }

    @Override public Tensor relu(Tensor x) { return t(Shapes.unary(x)); }

    @Override public Tensor tanh(Tensor x) { return t(Shapes.unary(x)); }

    @Override public Tensor geglu(Tensor x) { return t(Shapes.geglu(x)); }

    @Override public Tensor add(Tensor a, Tensor b) { return t(Shapes.same("add", a, b)); }

    @Override public Tensor mul(Tensor a, Tensor b) { return t(Shapes.same("mul", a, b)); }

    @Override public Tensor scale(Tensor a, float s) { return t(Shapes.unary(a)); }

    @Override public Tensor addChannels(Tensor x, Tensor v) { return t(Shapes.addChannels(x, v)); }

    @Override
    public Tensor avgPool2d(Tensor x, int k, int stride, int pad, boolean countPad) { return t(Shapes.pool2d("avgPool2d", x, k, stride, pad)); }

    @Override public Tensor maxPool2d(Tensor x, int k, int stride, int pad) { return t(Shapes.pool2d("maxPool2d", x, k, stride, pad)); }

    @Override public Tensor upsampleNearest(Tensor x, int oh, int ow) { return t(Shapes.upsampleNearest(x, oh, ow)); }

    @Override
    public Tensor concat(int axis, Tensor... xs) { return t(Shapes.concat(Shapes.axis("concat", axis, xs[0].rank()), xs)); }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        return t(Shapes.slice(x, Shapes.axis("slice", axis, x.rank()), start, end));
    }

    @Override public Tensor nchwToNlc(Tensor x) { return t(Shapes.nchwToNlc(x)); }

    @Override public Tensor nlcToNchw(Tensor x, int h, int w) { return t(Shapes.nlcToNchw(x, h, w)); }

    @Override public Tensor embedding(Tensor table, int[] ids) { return t(Shapes.embedding(table, ids)); }

    @Override
    public Tensor timestepEmbedding(float[] ts, int dim, boolean flipSinToCos, float shift) { return t(Shapes.timestepEmbedding(ts, dim)); }

    @Override public Tensor mean(Tensor x, int axis) { return t(Shapes.mean(x, axis)); }

    @Override public Tensor project(Tensor x, int axis, Tensor u) { return t(Shapes.project(x, axis, u)); }

    @Override
    public Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows) {
        return t(Shapes.alongRows("addDirection", x, axis, rows, u));
    }

    @Override
    public Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows) {
        return t(Shapes.alongRows("transport", x, axis, rows, omega, beta, lo, hi));
    }
}
