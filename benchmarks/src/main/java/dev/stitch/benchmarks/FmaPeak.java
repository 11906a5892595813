package dev.stitch.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.List;

/**
 * This machine's f32 FMA peak: each thread runs 16 independent Vector API FMA chains (enough to hide the FMA
 * latency on every core we know), on 1 thread and on all. The yardstick for the GEMM and conv benchmarks.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar dev.stitch.benchmarks.FmaPeak [seconds]}.
 */
public final class FmaPeak {
    private FmaPeak() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHAINS = 16;
    private static final long STEPS = 1 << 20;

    public static void main(String[] args) throws InterruptedException {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf("species %s (%d floats), %d hardware threads%n", S, S.length(), cores);
        for (int i = 0; i < 50; i++) chains(1 << 12); // compiled as a method, not on-stack
        List<Integer> counts = cores == 1 ? List.of(1) : List.of(1, cores);
        for (int threads : counts)
            System.out.printf("%d thread%s: %.1f GFLOP/s%n", threads, threads == 1 ? "" : "s", measure(threads, seconds));
    }

    /** Best of a few rounds of all threads running chains together. */
    public static double measure(int threads, double seconds) throws InterruptedException {
        double best = 0;
        for (int round = 0; round < 3; round++) {
            long[] calls = new long[threads];
            long deadline = System.nanoTime() + (long) (seconds / 3 * 1e9);
            List<Thread> ts = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    float sink = 0;
                    while (System.nanoTime() < deadline) { sink += chains(STEPS); calls[id]++; }
                    if (sink == 42) System.out.print(""); // keeps the work alive
                }));
            }
            for (Thread t : ts) t.join();
            double elapsed = (System.nanoTime() - t0) / 1e9;
            long total = 0;
            for (long c : calls) total += c;
            best = Math.max(best, total * STEPS * CHAINS * S.length() * 2.0 / elapsed / 1e9);
        }
        return best;
    }

    /** 16 FMA chains of {@code steps} links each; acc = acc·a + b converges, so no value overflows or goes subnormal. */
    public static float chains(long steps) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), b = FloatVector.broadcast(S, 0.001f);
        FloatVector c0 = FloatVector.broadcast(S, 0.1f), c1 = c0.add(0.01f), c2 = c0.add(0.02f), c3 = c0.add(0.03f);
        FloatVector c4 = c0.add(0.04f), c5 = c0.add(0.05f), c6 = c0.add(0.06f), c7 = c0.add(0.07f);
        FloatVector c8 = c0.add(0.08f), c9 = c0.add(0.09f), c10 = c0.add(0.10f), c11 = c0.add(0.11f);
        FloatVector c12 = c0.add(0.12f), c13 = c0.add(0.13f), c14 = c0.add(0.14f), c15 = c0.add(0.15f);
        for (long i = 0; i < steps; i++) {
            c0 = c0.fma(a, b); c1 = c1.fma(a, b); c2 = c2.fma(a, b); c3 = c3.fma(a, b);
            c4 = c4.fma(a, b); c5 = c5.fma(a, b); c6 = c6.fma(a, b); c7 = c7.fma(a, b);
            c8 = c8.fma(a, b); c9 = c9.fma(a, b); c10 = c10.fma(a, b); c11 = c11.fma(a, b);
            c12 = c12.fma(a, b); c13 = c13.fma(a, b); c14 = c14.fma(a, b); c15 = c15.fma(a, b);
        }
        FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7)
            .add(c8).add(c9).add(c10).add(c11).add(c12).add(c13).add(c14).add(c15);
        return s.reduceLanes(VectorOperators.ADD);
    }
}
