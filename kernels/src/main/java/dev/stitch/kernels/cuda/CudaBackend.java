package dev.stitch.kernels.cuda;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Shapes;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The op set on an NVIDIA GPU (compute capability 8.0 or newer) with our own kernels ({@code src/main/cuda/*.cu})
 * over the CUDA driver API. Activations live on the device in f32; weights are uploaded once, on first use, and kept
 * with their tensor ({@link Tensor#derived}).
 *
 * <p>{@code precision} picks the matrix engine: {@link DType#F16} or {@link DType#BF16} run linear layers and
 * convolutions on tensor cores (weights in that type, activations rounded to it on load, f32 accumulation);
 * {@link DType#F32} runs them in f32 on CUDA cores, the exact mode tests hold to 1e-5. Everything else (norms,
 * softmax, attention, elementwise) computes in f32 in every mode.
 *
 * <p>Not yet done, left for a session with a GPU: CUDA-graph capture of a whole UNet step, and tensor-core attention.
 */
public final class CudaBackend implements Backend {
    private static final int ELEMENTWISE_BLOCK = 256;

    private final Driver driver;
    private final DeviceMemory memory;
    private final DType precision;
    private final Map<Long, DeviceStorage> convTables = new ConcurrentHashMap<>();

    /** A backend on the first GPU ({@code -Dstitch.cuda.device=N} picks another); throws if there is none. */
    public CudaBackend(DType precision) { this(CudaDriver.shared(), precision); }

    /** The default: f16 tensor cores. */
    public CudaBackend() { this(DType.F16); }

    CudaBackend(Driver driver, DType precision) {
        this.driver = driver;
        this.memory = MEMORY.computeIfAbsent(driver, DeviceMemory::new);
        this.precision = precision;
    }

    // Backends on one device share its allocator (and so its cached blocks).
    private static final Map<Driver, DeviceMemory> MEMORY = new ConcurrentHashMap<>();

    /** True when a usable GPU, its driver and this build's kernels are all present. Never throws. */
    public static boolean isAvailable() { return unavailableReason() == null; }

    /** Why {@link #isAvailable} is false, or null when it is true. */
    public static String unavailableReason() {
        try {
            CudaDriver.shared();
            return null;
        } catch (Throwable t) {
            return t.getMessage() == null ? t.toString() : t.getMessage();
        }
    }

    @Override public String name() { return "cuda-" + precision.name().toLowerCase(); }

    public DType precision() { return precision; }

    /** The GPU's name and compute capability. */
    public String deviceName() { return driver.deviceName(); }

    /** Waits until all queued work is done. */
    public void synchronize() { driver.synchronize(); }

    /** Device time of the work {@code queue} launches, in milliseconds, measured with events on the stream. */
    public double timeMillis(Runnable queue) { return driver.timeMillis(queue); }

    /** Returns the allocator's cached blocks to the driver. */
    public void releaseCachedMemory() { memory.trim(); }

    // ---- storage --------------------------------------------------------------------------------------------

    private Tensor output(int... shape) {
        return Tensor.wrap(memory.take(DType.F32, Tensor.count(shape)), DType.F32, shape);
    }

    private static DeviceStorage storage(Tensor t) { return (DeviceStorage) t.storage(); }

    private boolean onDevice(Tensor t) { return t.storage() instanceof DeviceStorage d && d.memory == memory; }

    /** An activation as f32 on this device: as it is, uploaded (host tensors), or cast (other device dtypes). */
    private Tensor f32(Tensor t) {
        if (onDevice(t)) return t.dtype() == DType.F32 ? t : convert(storage(t), t.shape(), DType.F32, 1, (int) t.numel(), (int) t.numel());
        return upload(t, DType.F32, 1, Math.toIntExact(t.numel()), Math.toIntExact(t.numel()));
    }

    private record WeightKey(DeviceMemory memory, DType dtype, int paddedCols) {}

    /**
     * A weight on this device in {@code dtype}, viewed as [rows, cols] and stored [rows, paddedCols] with zero
     * columns appended (GEMM K padding); made once per tensor and form, and kept with the tensor.
     */
    private DeviceStorage weight(Tensor w, DType dtype, int rows, int cols, int paddedCols) {
        check((long) rows * cols == w.numel(), "weight " + Arrays.toString(w.shape()) + " as " + rows + "x" + cols);
        if (onDevice(w) && w.dtype() == dtype && paddedCols == cols) return storage(w);
        Tensor d = w.derived(new WeightKey(memory, dtype, paddedCols), () -> onDevice(w)
            ? convert(storage(w), new int[] {rows, paddedCols}, dtype, rows, cols, paddedCols)
            : upload(w, dtype, rows, cols, paddedCols));
        return storage(d);
    }

    /** A matrix weight [rows, ...] as [rows, paddedCols]. */
    private DeviceStorage matrix(Tensor w, DType dtype, int paddedCols) {
        int rows = w.dim(0);
        return weight(w, dtype, rows, rows == 0 ? 0 : Math.toIntExact(w.numel() / rows), paddedCols);
    }

    /** A vector weight (bias, norm scale) as f32, or null. */
    private DeviceStorage vector(Tensor v) {
        if (v == null) return null;
        int n = Math.toIntExact(v.numel());
        return weight(v, DType.F32, 1, n, n);
    }

    /** Host data → device, in its own dtype, then cast/padded on the device to {@code dtype} [rows, paddedCols]. */
    private Tensor upload(Tensor t, DType dtype, int rows, int cols, int paddedCols) {
        DeviceStorage raw;
        switch (t.storage()) {
            case Tensor.Mapped m -> {
                raw = memory.take(m.dtype, t.numel());
                driver.upload(raw.handle, m.segment.asByteBuffer());
            }
            case Tensor.Host h -> {
                raw = memory.take(DType.F32, t.numel());
                driver.upload(raw.handle, h.data());
            }
            default -> throw new IllegalArgumentException("tensor of another backend: " + t);
        }
        if (raw.dtype == dtype && cols == paddedCols) return Tensor.wrap(raw, dtype, t.shape());
        return convert(raw, new int[] {rows, paddedCols}, dtype, rows, cols, paddedCols);
    }

    private Tensor convert(DeviceStorage src, int[] shape, DType dtype, int rows, int cols, int paddedCols) {
        DeviceStorage dst = memory.take(dtype, (long) rows * paddedCols);
        launch1(castKernel(src.dtype, dtype), (long) rows * paddedCols, src, dst, (long) rows, cols, paddedCols);
        return Tensor.wrap(dst, dtype, shape);
    }

    private static Kernel castKernel(DType from, DType to) {
        return switch (from) {
            case F32 -> switch (to) { case F32 -> Kernel.CAST_F32_F32; case F16 -> Kernel.CAST_F32_F16; case BF16 -> Kernel.CAST_F32_BF16; };
            case F16 -> switch (to) { case F32 -> Kernel.CAST_F16_F32; case F16 -> Kernel.CAST_F16_F16; case BF16 -> Kernel.CAST_F16_BF16; };
            case BF16 -> switch (to) { case F32 -> Kernel.CAST_BF16_F32; case F16 -> Kernel.CAST_BF16_F16; case BF16 -> Kernel.CAST_BF16_BF16; };
        };
    }

    // ---- launching ------------------------------------------------------------------------------------------

    private void launch(Kernel k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object... args) {
        k.check(args);
        driver.launch(k, gx, gy, gz, bx, by, bz, sharedBytes, args);
    }

    /** A grid-stride kernel over n elements. */
    private void launch1(Kernel k, long n, Object... args) {
        if (n == 0) return;
        int blocks = (int) Math.min((n + ELEMENTWISE_BLOCK - 1) / ELEMENTWISE_BLOCK, 1 << 20);
        launch(k, blocks, 1, 1, ELEMENTWISE_BLOCK, 1, 1, 0, args);
    }

    private static int ceilDiv(long a, int b) { return Math.toIntExact((a + b - 1) / b); }

    private static void check(boolean ok, String what) { Shapes.check(ok, what); }

    private static int rows(Tensor x) { return x.dim(-1) == 0 ? 0 : Math.toIntExact(x.numel() / x.dim(-1)); }

    // ---- transfer -------------------------------------------------------------------------------------------

    @Override
    public Tensor fromHost(float[] data, int... shape) {
        Shapes.fromHost(data, shape);
        DeviceStorage s = memory.take(DType.F32, data.length);
        if (data.length > 0) driver.upload(s.handle, data);
        return Tensor.wrap(s, DType.F32, shape);
    }

    @Override
    public float[] toHost(Tensor t) {
        if (t.isHost()) return t.data();
        Tensor f = f32(t);
        float[] out = new float[Math.toIntExact(f.numel())];
        if (out.length > 0) driver.download(storage(f).handle, out);
        return out;
    }

    // ---- linear algebra -------------------------------------------------------------------------------------

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor b, Activation act) {
        int[] shape = Shapes.linear(x, w, b);
        int k = x.dim(-1), n = w.dim(0), m = rows(x);
        Tensor xd = f32(x), y = output(shape);
        if (m == 0 || n == 0) return y;
        if (precision == DType.F32) {
            gemmF32(storage(xd), matrix(w, DType.F32, k), vector(b), storage(y), m, n, k, act.ordinal(),
                k, 1, 1, k, n, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0);
        } else {
            int kp = roundUp(k, 32);
            launch(precision == DType.F16 ? Kernel.GEMM_TC_F16 : Kernel.GEMM_TC_BF16, ceilDiv(m, 128), ceilDiv(n, 128), 1,
                256, 1, 1, 0, storage(xd), matrix(w, precision, kp), vector(b), storage(y), m, n, k, kp, act.ordinal());
        }
        return y;
    }

    private static int roundUp(int v, int m) { return (v + m - 1) / m * m; }

    /** The f32 GEMM; see gemm_simt.cuh for the meaning of the strides. */
    private void gemmF32(Object a, Object b, Object bias, Object c, int m, int n, int k, int act,
                         long sAm, long sAk, long sBk, long sBn, long sCm, long sCn, int zInner,
                         long aOuter, long aInner, long bOuter, long bInner, long cOuter, long cInner, int batch,
                         long aOff, long cOff) {
        launch(Kernel.GEMM_F32, ceilDiv(m, 64), ceilDiv(n, 64), batch, 256, 1, 1, 0, a, b, bias, c, m, n, k, act,
            sAm, sAk, sBk, sBn, sCm, sCn, zInner, aOuter, aInner, bOuter, bInner, cOuter, cInner, aOff, cOff);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Shapes.MatMul mm = Shapes.matmul(a, b, transA, transB);
        int batch = mm.batch(), m = mm.m(), n = mm.n(), k = mm.k();
        Tensor ad = f32(a), bd = f32(b), c = a.rank() == 3 ? output(batch, m, n) : output(m, n);
        if (batch == 0 || m == 0 || n == 0) return c;
        // Always the f32 GEMM: the models never call matmul in a hot loop, and this keeps it exact in every mode.
        gemmF32(storage(ad), storage(bd), null, storage(c), m, n, k, 0,
            transA ? 1 : k, transA ? m : 1, transB ? 1 : n, transB ? k : 1, n, 1,
            1, (long) m * k, 0, (long) k * n, 0, (long) m * n, 0, batch, 0, 0);
        return c;
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pt, int pb, int pl, int pr, Activation act) {
        int[] shape = Shapes.conv2d(x, w, b, stride, pt, pb, pl, pr);
        int bn = x.dim(0), cin = x.dim(1), h = x.dim(2), wi = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = shape[2], wo = shape[3];
        check(cin < 32768 && kh < 256 && kw < 256, "conv2d: kernel " + Arrays.toString(w.shape()) + " too large for the CUDA kernels");
        int m = Math.toIntExact((long) bn * ho * wo), k = cin * kh * kw;
        Tensor xd = f32(x), y = output(bn, cout, ho, wo);
        if (m == 0 || cout == 0) return y;
        DeviceStorage table = convTable(cin, kh, kw);
        if (precision == DType.F32) {
            launch(Kernel.CONV_F32, ceilDiv(m, 64), ceilDiv(cout, 64), 1, 256, 1, 1, 0, storage(xd), matrix(w, DType.F32, k),
                vector(b), storage(y), m, cout, k, act.ordinal(), table, cin, h, wi, stride, pt, pl, ho, wo);
        } else {
            int kp = roundUp(k, 32);
            launch(precision == DType.F16 ? Kernel.CONV_TC_F16 : Kernel.CONV_TC_BF16, ceilDiv(m, 128), ceilDiv(cout, 128), 1,
                256, 1, 1, 0, storage(xd), matrix(w, precision, kp), vector(b), storage(y), m, cout, k, kp, act.ordinal(),
                table, cin, h, wi, stride, pt, pl, ho, wo);
        }
        return y;
    }

    /** Per k of a [cin, kh, kw] patch: c << 16 | dy << 8 | dx, so the kernels gather without dividing. */
    private DeviceStorage convTable(int cin, int kh, int kw) {
        return convTables.computeIfAbsent(((long) cin << 16) | ((long) kh << 8) | kw, key -> {
            int[] t = new int[cin * kh * kw];
            for (int c = 0, i = 0; c < cin; c++)
                for (int dy = 0; dy < kh; dy++)
                    for (int dx = 0; dx < kw; dx++) t[i++] = c << 16 | dy << 8 | dx;
            DeviceStorage s = memory.take(DType.F32, t.length);   // 4-byte slots
            driver.upload(s.handle, t);
            return s;
        });
    }

    // ---- normalisation --------------------------------------------------------------------------------------

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        Shapes.groupNorm(x, groups, gamma, beta);
        int bn = x.dim(0), c = x.dim(1);
        int spatial = Math.toIntExact(x.numel() / Math.max(1L, (long) bn * c));
        Tensor xd = f32(x), y = output(x.shape());
        if (x.numel() == 0) return y;
        launch(Kernel.GROUP_NORM, bn * groups, 1, 1, 512, 1, 1, 0, storage(xd), vector(gamma), vector(beta), storage(y),
            c, spatial, groups, eps, silu ? 1 : 0);
        return y;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Shapes.layerNorm(x, gamma, beta);
        int c = x.dim(-1), m = rows(x);
        Tensor xd = f32(x), y = output(x.shape());
        if (m == 0) return y;
        launch(Kernel.LAYER_NORM, ceilDiv(m, 8), 1, 1, 256, 1, 1, 0, storage(xd), vector(gamma), vector(beta), storage(y),
            (long) m, c, eps);
        return y;
    }

    // ---- attention ------------------------------------------------------------------------------------------

    /** Shared memory of the fused kernel for head size d, in bytes; the layout is attention.cu's. */
    static int attentionSharedBytes(int d) {
        int bkv = d <= 64 ? 64 : 32;
        return Float.BYTES * (d * 64 + 2 * d * bkv + 64 * (bkv + 1));
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal) {
        Shapes.attention(q, k, v, heads);
        int bn = q.dim(0), lq = q.dim(1), c = q.dim(2), lk = k.dim(1), d = c / heads;
        Tensor qd = f32(q), kd = f32(k), vd = f32(v), out = output(bn, lq, c);
        if (bn == 0 || lq == 0) return out;
        Kernel fused = Kernel.attention(d);
        int shared = fused == null ? 0 : attentionSharedBytes(d);
        if (fused != null && shared <= driver.maxSharedMemoryPerBlock()) {
            launch(fused, ceilDiv(lq, 64), heads, bn, 256, 1, 1, shared, storage(qd), storage(kd), storage(vd), storage(out),
                lq, lk, heads, scale, causal ? 1 : 0);
            return out;
        }
        // Other head sizes (the VAE's single 512-wide head): scores by GEMM, a row softmax, then P·V, a block of
        // queries at a time so that the score buffer stays under 256 MiB.
        int zs = bn * heads;
        int chunk = (int) Math.max(1, Math.min(lq, (64L << 20) / ((long) zs * lk)));
        DeviceStorage s = memory.take(DType.F32, (long) zs * chunk * lk);
        try {
            for (int q0 = 0; q0 < lq; q0 += chunk) {
                int rows = Math.min(chunk, lq - q0);
                long qOff = (long) q0 * c;   // elements
                // S[z][i][j] = Σ_e q[b, q0+i, h·d+e] · k[b, j, h·d+e]
                gemmF32(storage(qd), storage(kd), null, s, rows, lk, d, 0,
                    c, 1, 1, c, lk, 1, heads, (long) lq * c, d, (long) lk * c, d, (long) heads * rows * lk, (long) rows * lk, zs,
                    qOff, 0);
                launch(Kernel.SOFTMAX_ROWS, zs * rows, 1, 1, 256, 1, 1, 0, s, (long) zs * rows, lk, scale, causal ? 1 : 0, rows, q0);
                // out[b, q0+i, h·d+e] = Σ_j P[z][i][j] · v[b, j, h·d+e]
                gemmF32(s, storage(vd), null, storage(out), rows, d, lk, 0,
                    lk, 1, c, 1, c, 1, heads, (long) heads * rows * lk, (long) rows * lk, (long) lk * c, d, (long) lq * c, d, zs,
                    0, qOff);
            }
        } finally {
            s.close();   // queued after the kernels that use it, so the next user is ordered after them too
        }
        return out;
    }

    // ---- elementwise ----------------------------------------------------------------------------------------

    private Tensor map(Kernel kernel, Tensor x) {
        Tensor xd = f32(x), y = output(Shapes.unary(x));
        launch1(kernel, x.numel(), storage(xd), storage(y), x.numel());
        return y;
    }

    @Override public Tensor silu(Tensor x) { return map(Kernel.SILU, x); }

    @Override public Tensor gelu(Tensor x) { return map(Kernel.GELU, x); }

    @Override public Tensor relu(Tensor x) { return map(Kernel.RELU, x); }

    @Override public Tensor tanh(Tensor x) { return map(Kernel.TANH, x); }

    @Override
    public Tensor geglu(Tensor x) {
        int[] shape = Shapes.geglu(x);
        int c = x.dim(-1) / 2;
        long r = rows(x);
        Tensor xd = f32(x), y = output(shape);
        launch1(Kernel.GEGLU, r * c, storage(xd), storage(y), r, c);
        return y;
    }

    private Tensor zip(String op, Kernel kernel, Tensor a, Tensor b) {
        Shapes.same(op, a, b);
        Tensor ad = f32(a), bd = f32(b), y = output(a.shape());
        launch1(kernel, a.numel(), storage(ad), storage(bd), storage(y), a.numel());
        return y;
    }

    @Override public Tensor add(Tensor a, Tensor b) { return zip("add", Kernel.ADD, a, b); }

    @Override public Tensor mul(Tensor a, Tensor b) { return zip("mul", Kernel.MUL, a, b); }

    @Override
    public Tensor scale(Tensor a, float s) {
        Tensor ad = f32(a), y = output(Shapes.unary(a));
        launch1(Kernel.SCALE, a.numel(), storage(ad), s, storage(y), a.numel());
        return y;
    }

    @Override
    public Tensor addChannels(Tensor x, Tensor v) {
        Shapes.addChannels(x, v);
        int bn = x.dim(0), c = x.dim(1);
        int sp = Math.toIntExact(x.numel() / Math.max(1L, (long) bn * c));
        Tensor xd = f32(x), vd = f32(v), y = output(x.shape());
        if (sp > 0) launch1(Kernel.ADD_CHANNELS, x.numel(), storage(xd), storage(vd), storage(y), x.numel(), sp);
        return y;
    }

    // ---- pooling --------------------------------------------------------------------------------------------

    @Override
    public Tensor avgPool2d(Tensor x, int kernel, int stride, int pad, boolean countPad) {
        return pool(Shapes.pool2d("avgPool2d", x, kernel, stride, pad), x, kernel, stride, pad, false, countPad);
    }

    @Override
    public Tensor maxPool2d(Tensor x, int kernel, int stride, int pad) {
        return pool(Shapes.pool2d("maxPool2d", x, kernel, stride, pad), x, kernel, stride, pad, true, false);
    }

    private Tensor pool(int[] shape, Tensor x, int k, int stride, int pad, boolean max, boolean countPad) {
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), ho = shape[2], wo = shape[3];
        long planes = (long) bn * c;
        Tensor xd = f32(x), y = output(bn, c, ho, wo);
        launch1(Kernel.POOL2D, planes * ho * wo, storage(xd), storage(y), planes, h, w, ho, wo, k, stride, pad, max ? 1 : 0, countPad ? 1 : 0);
        return y;
    }

    // ---- layout ---------------------------------------------------------------------------------------------

    @Override
    public Tensor upsampleNearest(Tensor x, int oh, int ow) {
        Shapes.upsampleNearest(x, oh, ow);
        int bn = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        long planes = (long) bn * c;
        Tensor xd = f32(x), y = output(bn, c, oh, ow);
        launch1(Kernel.UPSAMPLE_NEAREST, planes * oh * ow, storage(xd), storage(y), planes, h, w, oh, ow);
        return y;
    }

    @Override
    public Tensor concat(int axis, Tensor... xs) {
        int ax = Shapes.axis("concat", axis, xs[0].rank());
        int[] shape = Shapes.concat(ax, xs);
        long outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax), total = shape[ax];
        Tensor y = output(shape);
        long pos = 0;
        for (Tensor t : xs) {
            long len = t.dim(ax) * inner;
            Tensor td = f32(t);
            launch1(Kernel.COPY_ROWS, outer * len, storage(td), storage(y), outer, len, len, 0L, total * inner, pos);
            pos += len;
        }
        return y;
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        int ax = Shapes.axis("slice", axis, x.rank());
        int[] shape = Shapes.slice(x, ax, start, end);
        long outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        long len = (end - start) * inner, full = x.dim(ax) * inner;
        Tensor xd = f32(x), y = output(shape);
        launch1(Kernel.COPY_ROWS, outer * len, storage(xd), storage(y), outer, len, full, start * inner, len, 0L);
        return y;
    }

    /** Batched transpose [batch][rows][cols] → [batch][cols][rows]. */
    private void transpose(Tensor src, Tensor dst, int batch, int rows, int cols) {
        if ((long) batch * rows * cols == 0) return;
        launch(Kernel.TRANSPOSE, ceilDiv(cols, 32), ceilDiv(rows, 32), batch, 32, 8, 1, 0, storage(src), storage(dst), rows, cols);
    }

    @Override
    public Tensor nchwToNlc(Tensor x) {
        Shapes.nchwToNlc(x);
        int bn = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor xd = f32(x), y = output(bn, hw, c);
        transpose(xd, y, bn, c, hw);
        return y;
    }

    @Override
    public Tensor nlcToNchw(Tensor x, int h, int w) {
        Shapes.nlcToNchw(x, h, w);
        int bn = x.dim(0), hw = x.dim(1), c = x.dim(2);
        Tensor xd = f32(x), y = output(bn, c, h, w);
        transpose(xd, y, bn, hw, c);
        return y;
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        Shapes.embedding(table, ids);
        int c = table.dim(1);
        Tensor y = output(ids.length, c);
        if (ids.length == 0 || c == 0) return y;
        DeviceStorage idd = memory.take(DType.F32, ids.length);   // 4-byte slots
        driver.upload(idd.handle, ids);
        launch1(Kernel.EMBEDDING, (long) ids.length * c, matrix(table, DType.F32, c), idd, storage(y), ids.length, c);
        idd.close();
        return y;
    }

    @Override
    public Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        Shapes.timestepEmbedding(t, dim);
        Tensor y = output(t.length, dim);
        if (t.length == 0 || dim == 0) return y;
        if (dim % 2 != 0) driver.zero(storage(y).handle, (long) t.length * dim * Float.BYTES);   // the last column stays 0
        Tensor td = fromHost(t, t.length);
        launch1(Kernel.TIMESTEP_EMBEDDING, (long) t.length * (dim / 2), storage(td), storage(y), t.length, dim,
            flipSinToCos ? 1 : 0, downscaleFreqShift);
        return y;
    }

    // ---- along one axis (along.cu) ------------------------------------------------------------------------------

    @Override
    public Tensor mean(Tensor x, int axis) {
        int[] shape = Shapes.mean(x, axis);
        int ax = Shapes.axis("mean", axis, x.rank());
        long outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        Tensor xd = f32(x), y = output(shape);
        launch1(Kernel.MEAN_AXIS, outer * inner, storage(xd), storage(y), outer, x.dim(ax), inner);
        return y;
    }

    @Override
    public Tensor project(Tensor x, int axis, Tensor u) {
        int[] shape = Shapes.project(x, axis, u);
        int ax = Shapes.axis("project", axis, x.rank());
        long outer = Shapes.outer(x.shape(), ax), inner = Shapes.inner(x.shape(), ax);
        Tensor xd = f32(x), y = output(shape);
        if (outer * inner > 0) launch1(Kernel.PROJECT, outer * inner, storage(xd), vector(u), storage(y), outer, x.dim(ax), inner);
        return y;
    }

    /** The batch rows to edit as one int flag per row, on the device (freed after the launches queued on it). */
    private DeviceStorage rowFlags(int batch, int[] rows) {
        int[] flags = new int[batch];
        for (int r : rows) flags[r] = 1;
        DeviceStorage s = memory.take(DType.F32, Math.max(1, batch));   // 4-byte slots
        if (batch > 0) driver.upload(s.handle, flags);
        return s;
    }

    @Override
    public Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows) {
        int[] shape = Shapes.alongRows("addDirection", x, axis, rows, u);
        int ax = Shapes.axis("addDirection", axis, x.rank());
        long outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        Tensor xd = f32(x), y = output(shape);
        if (x.numel() == 0) return y;
        try (DeviceStorage sel = rowFlags(x.dim(0), rows)) {
            launch1(Kernel.ADD_DIRECTION, outer * inner, storage(xd), vector(u), sel, storage(y), outer, x.dim(ax), inner,
                outer / x.dim(0), a, b, gate ? 1 : 0, keepNorm ? 1 : 0);
        }
        return y;
    }

    @Override
    public Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows) {
        int[] shape = Shapes.alongRows("transport", x, axis, rows, omega, beta, lo, hi);
        int ax = Shapes.axis("transport", axis, x.rank());
        long outer = Shapes.outer(shape, ax), inner = Shapes.inner(shape, ax);
        Tensor xd = f32(x), y = output(shape);
        if (x.numel() == 0) return y;
        try (DeviceStorage sel = rowFlags(x.dim(0), rows)) {
            launch1(Kernel.TRANSPORT, outer * inner, storage(xd), vector(omega), vector(beta), vector(lo), vector(hi), sel,
                storage(y), outer, x.dim(ax), inner, outer / x.dim(0), lambda, keepNorm ? 1 : 0);
        }
        return y;
    }
}
