package dev.stitch.benchmarks;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.CpuBackend;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * GFLOP/s per second of thread CPU time for the CPU backend's linear and 3×3 convolution on one thread, at UNet and
 * text-encoder shapes (batch 1), with the weights where a model keeps them ({@code f32} or {@code f16} in native
 * memory, or {@code host} arrays). On one thread the work runs on the calling thread, so time the scheduler gives to
 * other jobs does not count: on a machine loaded far beyond its cores, where wall-clock benchmarks say nothing, two
 * builds can still be compared in one sitting (the cores' shared caches and hyperthreads are still shared, so
 * compare runs taken minutes apart, not numbers across days). Prints the best of {@code reps} calls per shape.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.stitch.benchmarks.CpuTimeRate [f32|f16|host] [reps]}.
 */
public final class CpuTimeRate {
    private CpuTimeRate() {}

    public static void main(String[] args) {
        String where = args.length > 0 ? args[0] : "f32";
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        CpuBackend cpu = new CpuBackend(1, false);
        Random r = new Random(1);
        for (String c : new String[] {"linear 2048x320x320", "linear 2048x1280x320", "linear 154x1024x1024",
            "conv 320x32x32", "conv 1280x8x8"}) {
            String[] p = c.split(" ")[1].split("x");
            int a = Integer.parseInt(p[0]), b = Integer.parseInt(p[1]), d = Integer.parseInt(p[2]);
            Runnable run;
            double gflop;
            if (c.startsWith("linear")) {   // M tokens × K → N
                Tensor x = GemmBenchmark.random(r, a, b), w = GemmBenchmark.weight(r, where, d, b);
                run = () -> cpu.linear(x, w, null, Activation.NONE);
                gflop = 2.0 * a * b * d / 1e9;
            } else {                        // C → C channels at H × W
                Tensor x = GemmBenchmark.random(r, 1, a, b, d), w = GemmBenchmark.weight(r, where, a, a, 3, 3);
                Tensor bias = GemmBenchmark.random(r, a);
                run = () -> cpu.conv2d(x, w, bias, 1, 1, 1, 1, 1, Activation.NONE);
                gflop = 2.0 * a * a * 9 * b * d / 1e9;
            }
            for (int i = 0; i < 3; i++) run.run();
            double best = 0;
            for (int i = 0; i < reps; i++) {
                long t0 = mx.getCurrentThreadCpuTime();
                run.run();
                best = Math.max(best, gflop / ((mx.getCurrentThreadCpuTime() - t0) / 1e9));
            }
            System.out.printf("%-22s %-4s %6.1f GFLOP/s per CPU-second%n", c, where, best);
        }
    }
}
