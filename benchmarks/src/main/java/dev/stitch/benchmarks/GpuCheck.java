package dev.stitch.benchmarks;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.pipeline.RandomModel;
import java.util.Map;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.unet.UNetConfig;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cuda.CudaBackend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The timing half of {@code benchmarks/gpu-check.sh}: GEMM and convolution throughput at Stable Diffusion 2 shapes on
 * the tensor cores (f16, bf16), and one UNet step of full-size SD2-base (random weights) at 512×512, batch 2.
 * Device time comes from CUDA events around the queued work, after warm-up. Prints one table row per line.
 *
 * <pre>
 *   GpuCheck --probe                              exit 0 with the device name, or 3 with why there is no GPU
 *   GpuCheck [--peak-f16 T] [--peak-bf16 T] [--skip-unet]   timings; T = a measured peak in TFLOP/s, for the ratio
 * </pre>
 */
public final class GpuCheck {
    private GpuCheck() {}

    public static void main(String[] args) throws IOException {
        if (!CudaBackend.isAvailable()) {
            System.out.println("no GPU: " + CudaBackend.unavailableReason());
            System.exit(3);
        }
        double peakF16 = 0, peakBf16 = 0;
        boolean unet = true;
        for (int i = 0; i < args.length; i++)
            switch (args[i]) {
                case "--probe" -> {
                    System.out.println(new CudaBackend(DType.F32).deviceName());
                    return;
                }
                case "--peak-f16" -> peakF16 = Double.parseDouble(args[++i]);
                case "--peak-bf16" -> peakBf16 = Double.parseDouble(args[++i]);
                case "--skip-unet" -> unet = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        for (DType p : new DType[] {DType.F16, DType.BF16}) {
            CudaBackend cuda = new CudaBackend(p);
            double peak = p == DType.F16 ? peakF16 : peakBf16;
            // (M, K, N) of the UNet's linear layers at batch 2 and 64x64 latents: attention projections, GEGLU, FF out.
            gemm(cuda, peak, 8192, 320, 320);
            gemm(cuda, peak, 8192, 320, 2560);
            gemm(cuda, peak, 8192, 1280, 320);
            gemm(cuda, peak, 2048, 640, 5120);
            gemm(cuda, peak, 512, 1280, 10240);
            gemm(cuda, peak, 4096, 4096, 4096);
            conv(cuda, peak, 320, 64);
            conv(cuda, peak, 640, 32);
            conv(cuda, peak, 1280, 16);
        }
        if (unet) unetStep(DType.F16);
    }

    private static Tensor random(CudaBackend cuda, long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return cuda.fromHost(v, shape);
    }

    private static void row(String what, double ms, double flops, double peak) {
        double tflops = flops / ms / 1e9;
        String ratio = peak > 0 ? String.format(Locale.ROOT, "  %3.0f%% of peak %.0f", 100 * tflops / peak, peak) : "";
        System.out.printf(Locale.ROOT, "%-44s %9.3f ms %8.1f TFLOP/s%s%n", what, ms, tflops, ratio);
    }

    /** Mean device time of one call, over enough calls to fill ~0.2 s, after two warm-up calls. */
    private static double time(CudaBackend cuda, Runnable call) {
        call.run();
        call.run();
        cuda.synchronize();
        double once = Math.max(cuda.timeMillis(call), 1e-3);
        int reps = (int) Math.max(3, Math.min(500, 200 / once));
        return cuda.timeMillis(() -> { for (int i = 0; i < reps; i++) call.run(); }) / reps;
    }

    private static void gemm(CudaBackend cuda, double peak, int m, int k, int n) {
        Tensor x = random(cuda, 1, m, k), w = random(cuda, 2, n, k), b = random(cuda, 3, n);
        double ms = time(cuda, () -> cuda.linear(x, w, b, Activation.NONE));
        row(String.format("linear %s %dx%dx%d", cuda.precision(), m, k, n).toLowerCase(Locale.ROOT), ms, 2.0 * m * n * k, peak);
    }

    private static void conv(CudaBackend cuda, double peak, int c, int side) {
        Tensor x = random(cuda, 4, 2, c, side, side), w = random(cuda, 5, c, c, 3, 3), b = random(cuda, 6, c);
        double ms = time(cuda, () -> cuda.conv2d(x, w, b, 1, 1));
        row(String.format("conv3x3 %s %dch %dx%d b2", cuda.precision(), c, side, side).toLowerCase(Locale.ROOT), ms,
            2.0 * 2 * side * side * c * c * 9, peak);
    }

    private static void unetStep(DType precision) throws IOException {
        String json;
        try (InputStream in = UNet2DConditionModel.class.getResourceAsStream("/dev/stitch/engine/presets/sd2-base/unet/config.json")) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        long t0 = System.nanoTime();
        UNetConfig cfg = UNetConfig.parse("sd2-base preset", json);
        Map<String, int[]> shapes = new LinkedHashMap<>();
        new UNet2DConditionModel(cfg, Weights.random("unet", shapes));            // learns the tensors' shapes
        var model = new UNet2DConditionModel(cfg, RandomModel.inMemory("unet", shapes, 0));
        System.out.printf(Locale.ROOT, "%-44s %9.1f s (random weights on the host)%n", "unet sd2-base build", (System.nanoTime() - t0) / 1e9);
        CudaBackend cuda = new CudaBackend(precision);
        Ctx c = new Ctx(cuda);
        Tensor latents = random(cuda, 7, 2, 4, 64, 64), text = random(cuda, 8, 2, 77, 1024);
        float[] t = {981, 981};
        t0 = System.nanoTime();
        float[] first = cuda.toHost(model.forward(c, latents, t, text));   // uploads the weights
        System.out.printf(Locale.ROOT, "%-44s %9.1f s (uploads the weights)%n", "unet first step", (System.nanoTime() - t0) / 1e9);
        for (float v : first) if (!Float.isFinite(v)) throw new IllegalStateException("UNet output is not finite");
        model.forward(c, latents, t, text);
        cuda.synchronize();
        int steps = 5;
        double ms = cuda.timeMillis(() -> { for (int i = 0; i < steps; i++) model.forward(c, latents, t, text); }) / steps;
        long wall0 = System.nanoTime();
        for (int i = 0; i < steps; i++) model.forward(c, latents, t, text);
        cuda.synchronize();
        double wallMs = (System.nanoTime() - wall0) / 1e6 / steps;
        System.out.printf(Locale.ROOT, "%-44s %9.1f ms device, %.1f ms wall%n",
            "unet step sd2-base 512x512 b2 " + precision.name().toLowerCase(Locale.ROOT), ms, wallMs);
    }
}
