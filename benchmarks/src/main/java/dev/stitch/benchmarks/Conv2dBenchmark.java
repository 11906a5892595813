package dev.stitch.benchmarks;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.ConvAlgorithm;
import dev.stitch.kernels.cpu.CpuBackend;
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

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The CPU backend's 3×3, stride-1, pad-1 convolution (with bias) at the UNet's resnet shapes: C→C channels at
 * 64×64, 32×32 and 16×16 latents, batch 2 (classifier-free guidance). {@code gflop} is the achieved GFLOP/s
 * (2·B·C·C·9·H·W per call, so for Winograd an "effective" rate); {@code weights} as in {@link GemmBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class Conv2dBenchmark {
    /** Channels × height × width. */
    @Param({"320x64x64", "640x32x32", "1280x16x16"})
    public String shape;

    @Param({"2"})
    public int batch;

    /** Worker threads; 0 means all cores. */
    @Param({"0"})
    public int threads;

    /** host, f32 or f16: see {@link GemmBenchmark}. */
    @Param({"f32"})
    public String weights;

    /** auto, direct or winograd ({@link ConvAlgorithm}); {@code gflop} counts the direct path's arithmetic either way. */
    @Param({"direct", "winograd"})
    public String conv;

    private CpuBackend cpu;
    private Tensor x, w, b;
    private double gflop;

    @Setup(Level.Trial)
    public void setup() {
        String[] s = shape.split("x");
        int c = Integer.parseInt(s[0]), h = Integer.parseInt(s[1]), wd = Integer.parseInt(s[2]);
        cpu = new CpuBackend(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads, false,
            ConvAlgorithm.valueOf(conv.toUpperCase(java.util.Locale.ROOT)));
        Random r = new Random(42);
        x = GemmBenchmark.random(r, batch, c, h, wd);
        w = GemmBenchmark.weight(r, weights, c, c, 3, 3);
        b = GemmBenchmark.random(r, c);
        gflop = 2.0 * batch * c * c * 9 * h * wd / 1e9;
        cpu.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE); // warms up outside the measurement
    }

    @Benchmark
    public void conv3x3(Blackhole bh, GemmBenchmark.Flops flops) {
        bh.consume(cpu.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE));
        flops.gflop += gflop;
    }
}
