package dev.stitch.kernels;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A backend that runs every op on another one and adds up the wall time and the arithmetic of each op kind: where a
 * model call spends its time. For host backends only, whose ops have finished when they return (a device backend's
 * launches return before the work is done). Not thread-safe: time one caller at a time. Operands are checked by the
 * inner backend, or here with the same {@link Shapes} rules where the arithmetic count reads their sizes first.
 */
public final class TimedBackend implements Backend {
    /** Calls, nanoseconds and floating-point operations of one op kind (flop 0 where it is not counted). */
    public static final class Entry {
        public final String op;
        public long calls, nanos;
        public double flop;

        Entry(String op) { this.op = op; }

        /** Arithmetic rate over the op's time, or NaN where flop is not counted. */
        public double gflops() { return flop == 0 ? Double.NaN : flop / nanos; }
    }

    private final Backend inner;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public TimedBackend(Backend inner) { this.inner = inner; }

    /** The backend that does the work. */
    public Backend inner() { return inner; }

    private <T> T time(String op, double flop, Supplier<T> body) {
        long t0 = System.nanoTime();
        T out = body.get();
        Entry e = entries.computeIfAbsent(op, Entry::new);
        e.calls++;
        e.nanos += System.nanoTime() - t0;
        e.flop += flop;
        return out;
    }

    /** The op kinds seen so far, most time first. */
    public List<Entry> entries() {
        List<Entry> list = new ArrayList<>(entries.values());
        list.sort(Comparator.comparingLong((Entry e) -> e.nanos).reversed());
        return list;
    }

    public void reset() { entries.clear(); }

    /** A table of {@link #entries}: op, calls, seconds, share of the total, GFLOP/s. */
    public String table() {
        long total = entries.values().stream().mapToLong(e -> e.nanos).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-18s %7s %9s %7s %9s%n", "op", "calls", "seconds", "share", "GFLOP/s"));
        for (Entry e : entries())
            sb.append(String.format(Locale.ROOT, "%-18s %7d %9.3f %6.1f%% %9s%n", e.op, e.calls, e.nanos / 1e9,
                100.0 * e.nanos / Math.max(total, 1), Double.isNaN(e.gflops()) ? "" : String.format(Locale.ROOT, "%.1f", e.gflops())));
        sb.append(String.format(Locale.ROOT, "%-18s %7s %9.3f%n", "total", "", total / 1e9));
        return sb.toString();
    }

    @Override public String name() { return inner.name() + " (timed)"; }

    @Override public Tensor fromHost(float[] data, int... shape) { return time("fromHost", 0, () -> inner.fromHost(data, shape)); }

    @Override public float[] toHost(Tensor t) { return time("toHost", 0, () -> inner.toHost(t)); }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        int[] y = Shapes.linear(x, w, b);
        return time("linear", 2.0 * Tensor.count(y) * w.dim(1), () -> inner.linear(x, w, b, act));
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Shapes.MatMul mm = Shapes.matmul(a, b, transA, transB);
        return time("matmul", 2.0 * mm.batch() * mm.m() * mm.n() * mm.k(), () -> inner.matmul(a, b, transA, transB));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr, Activation act) {
        int[] y = Shapes.conv2d(x, w, b, stride, pt, pb, pl, pr);
        double flop = 2.0 * Tensor.count(y) * (w.numel() / w.dim(0));
        String op = w.dim(2) == 1 && w.dim(3) == 1 ? "conv2d 1x1" : "conv2d " + w.dim(2) + "x" + w.dim(3);
        return time(op, flop, () -> inner.conv2d(x, w, b, stride, pt, pb, pl, pr, act));
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        return time("groupNorm", 0, () -> inner.groupNorm(x, groups, gamma, beta, eps, silu));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return time("layerNorm", 0, () -> inner.layerNorm(x, gamma, beta, eps));
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        Shapes.attention(q, k, v, heads);
        // q·kᵀ and p·v: 2 products of Lq × Lk × C each
        double flop = 4.0 * q.dim(0) * q.dim(1) * k.dim(1) * q.dim(2);
        return time("attention", flop, () -> inner.attention(q, k, v, heads, scale, causal));
    }

    @Override public Tensor silu(Tensor x) { return time("silu", 0, () -> inner.silu(x)); }

    @Override public Tensor gelu(Tensor x) { return time("gelu", 0, () -> inner.gelu(x)); }

    @Override public Tensor relu(Tensor x) { return time("relu", 0, () -> inner.relu(x)); }

    @Override public Tensor tanh(Tensor x) { return time("tanh", 0, () -> inner.tanh(x)); }

    @Override public Tensor geglu(Tensor x) { return time("geglu", 0, () -> inner.geglu(x)); }

    @Override public Tensor add(Tensor a, Tensor b) { return time("add", 0, () -> inner.add(a, b)); }

    @Override public Tensor mul(Tensor a, Tensor b) { return time("mul", 0, () -> inner.mul(a, b)); }

    @Override public Tensor scale(Tensor a, float s) { return time("scale", 0, () -> inner.scale(a, s)); }

    @Override public Tensor addChannels(Tensor x, Tensor v) { return time("addChannels", 0, () -> inner.addChannels(x, v)); }

    @Override
    public Tensor avgPool2d(Tensor x, int kernel, int stride, int pad, boolean countPad) {
        return time("avgPool2d", 0, () -> inner.avgPool2d(x, kernel, stride, pad, countPad));
    }

    @Override public Tensor maxPool2d(Tensor x, int kernel, int stride, int pad) { return time("maxPool2d", 0, () -> inner.maxPool2d(x, kernel, stride, pad)); }

    @Override public Tensor upsampleNearest(Tensor x, int outH, int outW) { return time("upsampleNearest", 0, () -> inner.upsampleNearest(x, outH, outW)); }

    @Override public Tensor concat(int axis, Tensor... xs) { return time("concat", 0, () -> inner.concat(axis, xs)); }

    @Override public Tensor slice(Tensor x, int axis, int start, int end) { return time("slice", 0, () -> inner.slice(x, axis, start, end)); }

    @Override public Tensor nchwToNlc(Tensor x) { return time("nchwToNlc", 0, () -> inner.nchwToNlc(x)); }

    @Override public Tensor nlcToNchw(Tensor x, int h, int w) { return time("nlcToNchw", 0, () -> inner.nlcToNchw(x, h, w)); }

    @Override public Tensor embedding(Tensor table, int[] ids) { return time("embedding", 0, () -> inner.embedding(table, ids)); }

    @Override
    public Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        return time("timestepEmbedding", 0, () -> inner.timestepEmbedding(t, dim, flipSinToCos, downscaleFreqShift));
    }

    @Override public Tensor mean(Tensor x, int axis) { return time("mean", 0, () -> inner.mean(x, axis)); }

    @Override public Tensor project(Tensor x, int axis, Tensor u) { return time("project", 0, () -> inner.project(x, axis, u)); }

    @Override
    public Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows) {
        return time("addDirection", 0, () -> inner.addDirection(x, axis, u, a, b, gate, keepNorm, rows));
    }

    @Override
    public Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows) {
        return time("transport", 0, () -> inner.transport(x, axis, omega, beta, lo, hi, lambda, keepNorm, rows));
    }
}
