package dev.stitch.benchmarks;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.ConvAlgorithm;
import dev.stitch.kernels.cpu.CpuBackend;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * Winograd F(4×4, 3×3) against the direct path for the 3×3 convolutions of SD2's UNet (batch 2, 512×512 image: 64×64
 * latents) and VAE decoder (batch 1, 512×512), on one thread, timed in thread CPU time as {@link CpuTimeRate} (so
 * other jobs' share of the cores does not count). The two paths alternate, call by call; each prints the best of
 * {@code reps} calls as ms and as "direct-equivalent" GFLOP/s (2·B·Cin·Cout·9·H·W per second), then direct ÷ Winograd.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.stitch.benchmarks.WinogradRate
 * [f32|f16|host] [reps] [unet|vae|all]}.
 */
public final class WinogradRate {
    private WinogradRate() {}

    /** {batch, Cin, H, W, Cout} and where it is. */
    private record Shape(String what, int batch, int cin, int h, int w, int cout) {}

    private static final Shape[] UNET = {
        new Shape("UNet 320 @ 64x64", 2, 320, 64, 64, 320),
        new Shape("UNet 640 @ 32x32", 2, 640, 32, 32, 640),
        new Shape("UNet 1280 @ 16x16", 2, 1280, 16, 16, 1280),
        new Shape("UNet 1280 @ 8x8", 2, 1280, 8, 8, 1280),
        new Shape("UNet 2560->1280 @ 16x16", 2, 2560, 16, 16, 1280),
        new Shape("UNet 640->320 @ 64x64", 2, 640, 64, 64, 320),
    };
    private static final Shape[] VAE = {
        new Shape("VAE 512 @ 64x64", 1, 512, 64, 64, 512),
        new Shape("VAE 512 @ 128x128", 1, 512, 128, 128, 512),
        new Shape("VAE 256 @ 256x256", 1, 256, 256, 256, 256),
        new Shape("VAE 128 @ 512x512", 1, 128, 512, 512, 128),
    };

    public static void main(String[] args) {
        String where = args.length > 0 ? args[0] : "f32";
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String which = args.length > 2 ? args[2] : "all";
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        CpuBackend direct = new CpuBackend(1, false, ConvAlgorithm.DIRECT), wino = new CpuBackend(1, false, ConvAlgorithm.WINOGRAD);
        Random r = new Random(1);
        System.out.printf("%-26s %10s %10s %8s %8s %7s%n", "shape (" + where + ", 1 thread)", "direct ms", "winograd ms",
            "GFLOP/s", "eff.", "ratio");
        for (Shape s : which.equals("unet") ? UNET : which.equals("vae") ? VAE : concat(UNET, VAE)) {
            Tensor x = GemmBenchmark.random(r, s.batch, s.cin, s.h, s.w), w = GemmBenchmark.weight(r, where, s.cout, s.cin, 3, 3);
            Tensor b = GemmBenchmark.random(r, s.cout);
            double gflop = 2.0 * s.batch * s.cin * s.cout * 9 * s.h * s.w / 1e9;
            double bestD = Double.MAX_VALUE, bestW = Double.MAX_VALUE;
            direct.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE);
            wino.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE);
            for (int i = 0; i < reps; i++) {
                long t0 = mx.getCurrentThreadCpuTime();
                direct.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE);
                long t1 = mx.getCurrentThreadCpuTime();
                wino.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE);
                long t2 = mx.getCurrentThreadCpuTime();
                bestD = Math.min(bestD, (t1 - t0) / 1e6);
                bestW = Math.min(bestW, (t2 - t1) / 1e6);
            }
            System.out.printf("%-26s %10.1f %10.1f %8.1f %8.1f %6.2fx%n", s.what, bestD, bestW, gflop / bestD * 1e3,
                gflop / bestW * 1e3, bestD / bestW);
        }
    }

    private static Shape[] concat(Shape[] a, Shape[] b) {
        Shape[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
