package dev.stitch.benchmarks;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.Capture;
import dev.stitch.engine.taps.Editor;
import dev.stitch.engine.taps.Reduction;
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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Images per second of the whole library call an embedding user makes, {@code StableDiffusion.generate}: text
 * encoder, {@code steps} guided UNet calls (batch 2), VAE decode, on the cpu backend, with the built-in tiny model
 * ({@code make-random-model --config tiny}: SD2's block structure at widths 32/64, its default 64×64 image) or a
 * model directory given with {@code -p model=DIR}. Three sessions run the same request:
 * <ul>
 *   <li>{@code image}: nothing registered;</li>
 *   <li>{@code imageSteered}: a steering editor at the 16 transformer-block outputs ({@code unet.*.transformer_blocks.0}),
 *       adding a fixed unit direction × 4 to the conditional rows at every step (what an ActAdd plan does);</li>
 *   <li>{@code imageCaptured}: mean-pooling captures at the same 16 taps, both CFG halves, every step (what a
 *       steering extraction registers).</li>
 * </ul>
 * The difference from {@code image}, divided by {@code steps}, is what an editor or a capture costs per step.
 * Run: docs/performance.md, "Throughput".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 4)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PipelineThroughputBenchmark {
    /** A model directory; empty: a random tiny model written for the run. */
    @Param({""})
    public String model;

    /** Denoising steps per image (Euler, CFG 7). */
    @Param({"4"})
    public int steps;

    static final String TAPS = "unet.*.transformer_blocks.0";

    private Path tmp;
    private StableDiffusion plain, steered, captured;
    private AutoCloseable steering, capturing;
    private GenerateRequest request;
    private double sink;   // what the captures saw, so their work cannot be dropped

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path dir;
        if (model.isEmpty()) {
            tmp = Files.createTempDirectory("stitch-throughput-");
            dir = tmp.resolve("tiny");
            RandomModel.write("tiny", dir, 1, DType.F32, null);
        } else {
            dir = Path.of(model);
        }
        var cpu = Backends.byName("cpu");
        plain = StableDiffusion.load(dir, cpu);
        steered = StableDiffusion.load(dir, cpu);
        captured = StableDiffusion.load(dir, cpu);
        request = plain.request("a photograph of an astronaut riding a horse").steps(steps).guidance(7f).seed(0).build();
        steering = steered.hooks(TAPS, new AddDirection(4f));
        capturing = captured.hooks(TAPS, new Capture((key, v) -> sink += v.data()[0], Reduction.MEAN));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        steering.close();
        capturing.close();
        for (StableDiffusion sd : new StableDiffusion[] {plain, steered, captured}) sd.close();
        if (tmp == null) return;
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** x + strength·u along the channel axis of the conditional rows, u a fixed random unit vector per width. */
    record AddDirection(float strength, Map<Integer, float[]> units) implements Editor {
        AddDirection(float strength) { this(strength, new ConcurrentHashMap<>()); }

        @Override
        public Tensor edit(String tap, Tensor value, dev.stitch.engine.taps.TapContext ctx) {
            int axis = ctx.layout().channelAxis, n = value.dim(axis);
            float[] u = units.computeIfAbsent(n, k -> {
                Random r = new Random(k);
                float[] d = new float[k];
                double norm = 0;
                for (int i = 0; i < k; i++) norm += (d[i] = (float) r.nextGaussian()) * d[i];
                for (int i = 0; i < k; i++) d[i] /= (float) Math.sqrt(norm);
                return d;
            });
            return ctx.ops().addDirection(value, axis, ctx.ops().fromHost(u, n), 0f, strength, false, false,
                ctx.rowsOf(CfgHalf.COND));
        }
    }

    @Benchmark
    public GenerateResult image() { return plain.generate(request); }

    @Benchmark
    public GenerateResult imageSteered() { return steered.generate(request); }

    @Benchmark
    public double imageCaptured() { return captured.generate(request).hashCode() + sink; }
}
