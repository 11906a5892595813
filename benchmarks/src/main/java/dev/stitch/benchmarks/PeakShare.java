package dev.stitch.benchmarks;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.CpuBackend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The share of the FMA peak that the GEMM and conv shapes of {@link GemmBenchmark} and {@link Conv2dBenchmark}
 * reach, for machines shared with other work: each round measures the peak ({@link FmaPeak}, all threads) and then
 * every op for a short slice, and the report gives the median over rounds of op ÷ peak, so that load which comes
 * and goes hits both sides of each ratio alike.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.stitch.benchmarks.PeakShare [rounds]}.
 */
public final class PeakShare {
    private PeakShare() {}

    private record Op(String name, double gflop, Runnable run) {}

    public static void main(String[] args) throws InterruptedException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        CpuBackend cpu = new CpuBackend(Runtime.getRuntime().availableProcessors(), false);
        Random r = new Random(42);
        List<Op> ops = new ArrayList<>();
        for (String shape : new String[] {"4096x320x320", "4096x1280x320", "1024x640x640", "256x1280x1280", "4096x1280x1280"}) {
            int[] s = Arrays.stream(shape.split("x")).mapToInt(Integer::parseInt).toArray();
            Tensor x = GemmBenchmark.random(r, s[0], s[1]), w = GemmBenchmark.random(r, s[2], s[1]);
            ops.add(new Op("linear " + shape, 2.0 * s[0] * s[1] * s[2] / 1e9, () -> cpu.linear(x, w, null, Activation.NONE)));
        }
        for (String shape : new String[] {"320x64x64", "640x32x32", "1280x16x16"}) {
            int[] s = Arrays.stream(shape.split("x")).mapToInt(Integer::parseInt).toArray();
            Tensor x = GemmBenchmark.random(r, 2, s[0], s[1], s[2]), w = GemmBenchmark.random(r, s[0], s[0], 3, 3);
            Tensor b = GemmBenchmark.random(r, s[0]);
            ops.add(new Op("conv3x3 2x" + shape, 2.0 * 2 * s[0] * s[0] * 9 * s[1] * s[2] / 1e9,
                () -> cpu.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE)));
        }
        int threads = cpu.threads();
        System.out.printf("%d threads, %d rounds of: FMA peak, then each op for 0.4 s%n", threads, rounds);
        long warm = System.nanoTime();
        while (System.nanoTime() - warm < 10e9) for (Op op : ops) op.run().run();
        double[] peaks = new double[rounds];
        double[][] rate = new double[ops.size()][rounds];
        for (int round = 0; round < rounds; round++) {
            peaks[round] = FmaPeak.measure(threads, 0.6);
            for (int i = 0; i < ops.size(); i++) {
                long t0 = System.nanoTime();
                int n = 0;
                while (System.nanoTime() - t0 < 0.4e9) { ops.get(i).run().run(); n++; }
                rate[i][round] = n * ops.get(i).gflop() / ((System.nanoTime() - t0) / 1e9);
            }
        }
        System.out.printf("%-26s %10s %10s%n", "op", "GFLOP/s", "of peak");
        System.out.printf("%-26s %10.1f %10s%n", "FMA peak", median(peaks), "");
        for (int i = 0; i < ops.size(); i++) {
            double[] share = new double[rounds];
            for (int j = 0; j < rounds; j++) share[j] = rate[i][j] / peaks[j];
            System.out.printf("%-26s %10.1f %9.0f%%%n", ops.get(i).name(), median(rate[i]), 100 * median(share));
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
