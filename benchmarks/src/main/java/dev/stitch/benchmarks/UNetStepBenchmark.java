package dev.stitch.benchmarks;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One denoising step of a full-size SD2 UNet: a guided call (batch 2) at 64×64 latents (a 512×512 image), 77-token
 * context, on the cpu backend, seconds per call. {@code -p model=DIR} names a model directory (its {@code unet/} is
 * loaded); empty writes a random {@code sd2-base} (f32, about 5 GB on disk, a minute or two) for the run. Each
 * iteration is one call ({@code SingleShotTime}), so the few calls JMH needs at ~10 s each stay affordable.
 * Compare the algorithms with {@code -jvmArgsAppend -Dstitch.conv=direct}. Run: docs/performance.md, "Throughput".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class UNetStepBenchmark {
    @Param({""})
    public String model;

    /** Latent side: 64 is a 512×512 image. */
    @Param({"64"})
    public int latent;

    private Path tmp;
    private Backend ops;
    private UNet2DConditionModel unet;
    private Tensor sample, context;
    private final float[] timestep = {801f};

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path dir;
        if (model.isEmpty()) {
            tmp = Files.createTempDirectory("stitch-unet-step-");
            dir = tmp.resolve("sd2-base");
            RandomModel.write("sd2-base", dir, 1, DType.F32, null);
        } else {
            dir = Path.of(model);
        }
        unet = UNet2DConditionModel.load(dir.resolve("unet"));
        ops = Backends.byName("cpu");
        Random r = new Random(1);
        int in = unet.config.inChannels(), ctx = unet.config.crossAttentionDim().getLast();
        sample = ops.fromHost(gaussian(r, 2 * in * latent * latent), 2, in, latent, latent);
        context = ops.fromHost(gaussian(r, 2 * 77 * ctx), 2, 77, ctx);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (tmp == null) return;
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static float[] gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Benchmark
    public Tensor guidedStep() { return unet.forward(new Ctx(ops), sample, timestep, context); }
}
