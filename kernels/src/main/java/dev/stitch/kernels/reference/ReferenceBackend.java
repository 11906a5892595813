package dev.stitch.kernels.reference;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Shapes;
import dev.stitch.kernels.Tensor;


/**
 * Plain loops, obviously correct: the oracle every other backend is tested against. Sums are accumulated in
 * double so that the oracle's own rounding is far below any backend's.
 */
public final class ReferenceBackend implements Backend {
    public static final ReferenceBackend INSTANCE = new ReferenceBackend();

    @Override public String name() { return "reference"; }

    @Override public Tensor fromHost(float[] data, int... shape) { return Tensor.of(data, Shapes.fromHost(data, shape)); }

    @Override public float[] toHost(Tensor t) { return t.data(); }

    private static int rows(Tensor x) { return Math.toIntExact(x.numel() / x.dim(-1)); }


    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        int[] shape = Shapes.linear(x, w, b);
        int k = x.dim(-1), n = w.dim(0), m = rows(x);
        float[] xd = x.data(), wd = w.data(), bd = b == null ? null : b.data();
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = bd == null ? 0 : bd[j];
                for (int p = 0; p < k; p++) s += (double) xd[i * k + p] * wd[j * k + p];
                out[i * n + j] = act.apply((float) s);
            }
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Shapes.MatMul mm = Shapes.matmul(a, b, transA, transB);
        int batch = mm.batch(), m = mm.m(), n = mm.n(), k = mm.k();
        float[] ad = a.data(), bd = b.data(), out = new float[batch * m * n];
        for (int z = 0; z < batch; z++) {
            int ao = z * m * k, bo = z * k * n, co = z * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? ad[ao + p * m + i] : ad[ao + i * k + p];
                        float bv = transB ? bd[bo + j * k + p] : bd[bo + p * n + j];
                        s += (double) av * bv;
                    }
                    out[co + i * n + j] = (float) s;
                }
        }
        return a.rank() == 3 ? Tensor.of(out, batch, m, n) : Tensor.of(out, m, n);
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr, Activation act) {
        int[] shape = Shapes.conv2d(x, w, b, stride, pt, pb, pl, pr);
        int bn = x.dim(0), ci = x.dim(1), h = x.dim(2), wi = x.dim(3);
        int co = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = shape[2], wo = shape[3];
        float[] xd = x.data(), wd = w.data(), bd = b == null ? null : b.data();
        float[] out = new float[bn * co * ho * wo];
        for (int n = 0; n < bn; n++)
            for (int o = 0; o < co; o++)
                for (int y = 0; y < ho; y++)
                    for (int xx = 0; xx < wo; xx++) {
                        double s = bd == null ? 0 : bd[o];
                        for (int c = 0; c < ci; c++)
                            for (int dy = 0; dy < kh; dy++) {
                                int iy = y * stride + dy - pt;
                                if (iy < 0 || iy >= h) continue;
                                for (int dx = 0; dx < kw; dx++) {
                                    int ix = xx * stride + dx - pl;
                                    if (ix < 0 || ix >= wi) continue;
                                    s += (double) xd[((n * ci + c) * h + iy) * wi + ix] * wd[((o * ci + c) * kh + dy) * kw + dx];
                                }
                            }
                        out[((n * co + o) * ho + y) * wo + xx] = act.apply((float) s);
                    }
        return Tensor.of(out, bn, co, ho, wo);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int bn = x.dim(0), c = x.dim(1);
        int spatial = Math.toIntExact(x.numel() / ((long) bn * c)), cg = c / groups, len = cg * spatial;
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = new float[xd.length];
        for (int n = 0; n < bn; n++)
            for (int gr = 0; gr < groups; gr++) {
                int base = (n * c + gr * cg) * spatial;
                double mean = 0, var = 0;
                for (int i = 0; i < len; i++) mean += xd[base + i];
                mean /= len;
                for (int i = 0; i < len; i++) { double d = xd[base + i] - mean; var += d * d; }
                var /= len;
                double inv = 1.0 / Math.sqrt(var + eps);
                for (int i = 0; i < len; i++) {
                    int ch = gr * cg + i / spatial;
                    float v = (float) ((xd[base + i] - mean) * inv * g[ch] + be[ch]);
                    out[base + i] = silu ? Activation.silu(v) : v;
                }
            }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Shapes.layerNorm(x, gamma, beta);
        int c = x.dim(-1), m = rows(x);
        float[] xd = x.data(), g = gamma.data(), be = beta.data(), out = new float[xd.length];
        for (int r = 0; r < m; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += xd[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) { double d = xd[r * c + i] - mean; var += d * d; }
            var /= c;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < c; i++) out[r * c + i] = (float) ((xd[r * c + i] - mean) * inv * g[i] + be[i]);
        }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        Shapes.attention(q, k, v, heads);
        int bn = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1), d = c / heads;
        float[] qd = q.data(), kd = k.data(), vd = v.data(), out = new float[bn * lq * c];
        double[] s = new double[lk];
        for (int n = 0; n < bn; n++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < lq; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    int jEnd = causal ? Math.min(i + 1, lk) : lk;
                    for (int j = 0; j < jEnd; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++)
                            dot += (double) qd[(n * lq + i) * c + h * d + e] * kd[(n * lk + j) * c + h * d + e];
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < jEnd; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < jEnd; j++) acc += s[j] * vd[(n * lk + j) * c + h * d + e];
                        out[(n * lq + i) * c + h * d + e] = (float) (acc / sum);
                    }
                }
        return Tensor.of(out, bn, lq, c);
    }

    private static Tensor map(Tensor x, java.util.function.DoubleUnaryOperator f) {
        float[] xd = x.data(), out = new float[xd.length];
        for (int i = 0; i < xd.length; i++) out[i] = (float) f.applyAsDouble(xd[i]);
        return Tensor.of(out, Shapes.unary(x));
    }

    @Override public Tensor silu(Tensor x) { return map(x, v -> v / (1 + Math.exp(-v))); }

    @Override public Tensor tanh(Tensor x) { return map(x, Math::tanh); }

    @Override public Tensor relu(Tensor x) { return map(x, v -> Activation.RELU.apply((float) v)); }

    @Override public Tensor gelu(Tensor x) { return map(x, v -> 0.5 * v * dev.stitch.kernels.Erf.erfc(-v / Math.sqrt(2))); }

    @Override
    public Tensor geglu(Tensor x) {
        int[] shape = Shapes.geglu(x);
        int c2 = x.dim(-1), c = c2 / 2, m = rows(x);
        float[] xd = x.data(), out = new float[m * c];
        for (int r = 0; r < m; r++)
            for (int i = 0; i < c; i++) {
                double gate = xd[r * c2 + c + i];
                out[r * c + i] = (float) (xd[r * c2 + i] * 0.5 * gate * dev.stitch.kernels.Erf.erfc(-gate / Math.sqrt(2)));
            }
        return Tensor.of(out, shape);
    }

    private static Tensor zip(String op, Tensor a, Tensor b, java.util.function.DoubleBinaryOperator f) {
        Shapes.same(op, a, b);
        float[] ad = a.data(), bd = b.data(), out = new float[ad.length];
        for (int i = 0; i < ad.length; i++) out[i] = (float) f.applyAsDouble(ad[i], bd[i]);
        return Tensor.of(out, a.shape());
    }

    @Override public Tensor add(Tensor a, Tensor b) { return zip("add", a, b, Double::sum); }

    @Override public Tensor mul(Tensor a, Tensor b) { return zip("mul", a, b, (p, q) -> p * q); }

    @Override public Tensor scale(Tensor a, float s) { return map(a, v -> (float) v * s); }

    @Override
    public Tensor addChannels(Tensor x, Tensor v) {
        Shapes.addChannels(x, v);
        int bn = x.dim(0), c = x.dim(1), sp = Math.toIntExact(x.numel() / Math.max(1L, (long) bn * c));
        float[] xd = x.data(), vd = v.data(), out = new float[xd.length];
        for (int i = 0; i < xd.length; i++) out[i] = xd[i] + vd[i / sp];
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor avgPool2d(Tensor x, int k, int stride, int pad, boolean countPad) {
        return pool(Shapes.pool2d("avgPool2d", x, k, stride, pad), x, k, stride, pad, false, countPad);
    }

    @Override
    public Tensor maxPool2d(Tensor x, int k, int stride, int pad) {
        return pool(Shapes.pool2d("maxPool2d", x, k, stride, pad), x, k, stride, pad, true, false);
    }

    private static Tensor pool(int[] shape, Tensor x, int k, int stride, int pad, boolean max, boolean countPad) {
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), ho = shape[2], wo = shape[3];
        float[] xd = x.data(), out = new float[bn * c * ho * wo];
        for (int p = 0; p < bn * c; p++)
            for (int y = 0; y < ho; y++)
                for (int xx = 0; xx < wo; xx++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    int n = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++) {
                            int iy = y * stride + dy - pad, ix = xx * stride + dx - pad;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            float v = xd[(p * h + iy) * w + ix];
                            acc = max ? Math.max(acc, v) : acc + v;
                            n++;
                        }
                    out[(p * ho + y) * wo + xx] = (float) (max ? acc : acc / (countPad ? k * k : n));
                }
        return Tensor.of(out, bn, c, ho, wo);
    }

    @Override
    public Tensor upsampleNearest(Tensor x, int oh, int ow) {
        Shapes.upsampleNearest(x, oh, ow);
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        float[] xd = x.data(), out = new float[bn * c * oh * ow];
        for (int p = 0; p < bn * c; p++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++) {
                    int sy = (int) ((long) y * h / oh), sx = (int) ((long) xx * w / ow);
                    out[(p * oh + y) * ow + xx] = xd[(p * h + sy) * w + sx];
                }
        return Tensor.of(out, bn, c, oh, ow);
    }

    @Override
    public Tensor concat(int axis, Tensor... xs) {
        int ax = Shapes.axis("concat", axis, xs[0].rank());
        int[] shape = Shapes.concat(ax, xs);
        int outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        float[] out = new float[Math.toIntExact(Tensor.count(shape))];
        int pos = 0;
        for (int o = 0; o < outer; o++)
            for (Tensor t : xs) {
                int len = t.dim(ax) * inner;
                System.arraycopy(t.data(), o * len, out, pos, len);
                pos += len;
            }
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        int ax = Shapes.axis("slice", axis, x.rank());
        int[] shape = Shapes.slice(x, ax, start, end);
        int outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        int len = (end - start) * inner, full = x.dim(ax) * inner;
        float[] xd = x.data(), out = new float[outer * len];
        for (int o = 0; o < outer; o++) System.arraycopy(xd, o * full + start * inner, out, o * len, len);
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor nchwToNlc(Tensor x) {
        Shapes.nchwToNlc(x);
        int bn = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        float[] xd = x.data(), out = new float[xd.length];
        for (int n = 0; n < bn; n++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) out[(n * hw + p) * c + ch] = xd[(n * c + ch) * hw + p];
        return Tensor.of(out, bn, hw, c);
    }

    @Override
    public Tensor nlcToNchw(Tensor x, int h, int w) {
        Shapes.nlcToNchw(x, h, w);
        int bn = x.dim(0), hw = x.dim(1), c = x.dim(2);
        float[] xd = x.data(), out = new float[xd.length];
        for (int n = 0; n < bn; n++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) out[(n * c + ch) * hw + p] = xd[(n * hw + p) * c + ch];
        return Tensor.of(out, bn, c, h, w);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        Shapes.embedding(table, ids);
        int c = table.dim(1);
        float[] td = table.data(), out = new float[ids.length * c];
        for (int i = 0; i < ids.length; i++) System.arraycopy(td, ids[i] * c, out, i * c, c);
        return Tensor.of(out, ids.length, c);
    }

    @Override
    public Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float shift) {
        Shapes.timestepEmbedding(t, dim);
        int half = dim / 2;
        float[] out = new float[t.length * dim];
        for (int n = 0; n < t.length; n++)
            for (int i = 0; i < half; i++) {
                // diffusers computes the exponent, the frequency and the product in float32: so do we
                float e = (float) -Math.log(10000) * i / (half - shift);
                float f = (float) Math.exp(e);
                float arg = t[n] * f;
                float s = (float) Math.sin(arg), co = (float) Math.cos(arg);
                out[n * dim + i] = flipSinToCos ? co : s;
                out[n * dim + half + i] = flipSinToCos ? s : co;
            }
        return Tensor.of(out, t.length, dim);
    }

    // ---- along one axis ---------------------------------------------------------------------------------------

    @Override
    public Tensor mean(Tensor x, int axis) {
        int[] shape = Shapes.mean(x, axis);
        int ax = Shapes.axis("mean", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        float[] xd = x.data(), out = new float[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += xd[(o * n + k) * inner + i];
                out[o * inner + i] = (float) (s / n);
            }
        return Tensor.of(out, shape);
    }

    @Override
    public Tensor project(Tensor x, int axis, Tensor u) {
        int[] shape = Shapes.project(x, axis, u);
        int ax = Shapes.axis("project", axis, x.rank()), n = x.dim(ax), outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        float[] xd = x.data(), ud = u.data(), out = new float[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += (double) xd[(o * n + k) * inner + i] * ud[k];
                out[o * inner + i] = (float) s;
            }
        return Tensor.of(out, shape);
    }

    /** The edit of one vector along the axis (values v[k], in double), in place. */
    private interface VectorEdit { void apply(double[] v); }

    /**
     * Applies {@code edit} to every vector along {@code ax} of the chosen batch rows, then restores each one's length
     * if asked; the results are rounded to f32 before the length is measured, as a caller holding f32 would.
     */
    private static Tensor editRows(Tensor x, int ax, int[] rows, boolean keepNorm, VectorEdit edit) {
        int n = x.dim(ax), outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax), perRow = outer / x.dim(0);
        float[] out = x.data().clone();
        double[] v = new double[n];
        for (int r : rows)
            for (int o = r * perRow; o < (r + 1) * perRow; o++)
                for (int i = 0; i < inner; i++) {
                    double before = 0, after = 0;
                    for (int k = 0; k < n; k++) { v[k] = out[(o * n + k) * inner + i]; before += v[k] * v[k]; }
                    edit.apply(v);
                    for (int k = 0; k < n; k++) { v[k] = (float) v[k]; after += v[k] * v[k]; }
                    double f = keepNorm && after > 0 ? Math.sqrt(before) / Math.sqrt(after) : 1;
                    for (int k = 0; k < n; k++) out[(o * n + k) * inner + i] = (float) (v[k] * f);
                }
        return Tensor.of(out, x.shape());
    }

    @Override
    public Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows) {
        Shapes.alongRows("addDirection", x, axis, rows, u);
        float[] ud = u.data();
        return editRows(x, Shapes.axis("addDirection", axis, x.rank()), rows, keepNorm, v -> {
            double coef = b;
            if (a != 0) {
                double p = 0;
                for (int k = 0; k < v.length; k++) p += v[k] * ud[k];
                coef = a * (gate ? Math.max(0, p) : p) + b;
            }
            for (int k = 0; k < v.length; k++) v[k] += coef * ud[k];
        });
    }

    @Override
    public Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows) {
        Shapes.alongRows("transport", x, axis, rows, omega, beta, lo, hi);
        float[] w = omega.data(), be = beta.data(), l = lo.data(), h = hi.data();
        return editRows(x, Shapes.axis("transport", axis, x.rank()), rows, keepNorm, v -> {
            for (int k = 0; k < v.length; k++)
                if (!(v[k] < l[k] || v[k] > h[k])) v[k] = (1 - lambda) * v[k] + lambda * (w[k] * v[k] + be[k]);
        });
    }
}
