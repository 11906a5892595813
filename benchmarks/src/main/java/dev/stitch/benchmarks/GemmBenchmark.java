package dev.stitch.benchmarks;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.CpuBackend;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The CPU backend's {@code linear} (x [M, K] · wᵀ, w [N, K]) at the UNet's shapes: M tokens
 * (4096 = a 64×64 latent, 1024 = 32×32, 256 = 16×16), K → N the projections and feed-forwards of SD2's
 * transformer blocks. The {@code gflop} counter is the achieved GFLOP/s (2·M·K·N per call). {@code weights} says where
 * the weight lies: {@code f32}/{@code f16} in native memory as a memory-mapped model file holds it (what a model runs
 * on), {@code host} a Java array.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class GemmBenchmark {
    /** M×K×N. */
    @Param({"4096x320x320", "4096x1280x320", "1024x640x640", "256x1280x1280", "4096x1280x1280"})
    public String shape;

    /** Worker threads; 0 means all cores. */
    @Param({"0"})
    public int threads;

    /** host, f32 or f16 (see above). */
    @Param({"f32"})
    public String weights;

    private CpuBackend cpu;
    private Tensor x, w;
    private double gflop;

    @Setup(Level.Trial)
    public void setup() {
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), k = Integer.parseInt(s[1]), n = Integer.parseInt(s[2]);
        cpu = new CpuBackend(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads, false);
        Random r = new Random(42);
        x = random(r, m, k);
        w = weight(r, weights, n, k);
        gflop = 2.0 * m * k * n / 1e9;
        cpu.linear(x, w, null, Activation.NONE); // warms up outside the measurement
    }

    static Tensor random(Random r, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    /** A random weight: a Java array ({@code host}), or f32/f16 values in native memory, as a mapped file holds them. */
    static Tensor weight(Random r, String where, int... shape) {
        Tensor t = random(r, shape);
        if (where.equals("host")) return t;
        DType dt = switch (where) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            default -> throw new IllegalArgumentException("weights: host, f32 or f16, not " + where);
        };
        float[] v = t.data();
        MemorySegment seg = Arena.ofAuto().allocate((long) v.length * dt.bytes, 64);
        for (int i = 0; i < v.length; i++)
            if (dt == DType.F32) seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v[i]);
            else seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, DType.f32ToF16(v[i]));
        return Tensor.mapped(seg, dt, shape);
    }

    @Benchmark
    public void linear(Blackhole bh, Flops flops) {
        bh.consume(cpu.linear(x, w, null, Activation.NONE));
        flops.gflop += gflop;
    }

    /** Counts floating-point work; JMH reports it per second, i.e. GFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() { gflop = 0; }
    }
}
