package dev.stitch.benchmarks;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.taps.Capture;
import dev.stitch.engine.taps.CaptureKey;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.ModelCall;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapContext;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What taps cost in a denoising step: one guided UNet call (batch 2) of the built-in tiny model on the cpu backend,
 * with {@link Taps#NONE}, with a {@link HookedTaps} that has no hook registered, and with 16 mean-pooling observers
 * (one per transformer-block output, as a steering extraction registers them). Expected: the first two equal, the
 * third a few percent at most. The {@code tapCalls*} cases replay only the step's tap calls on its own values, which
 * measures the taps' share directly where load noise hides it in whole steps. Run: docs/performance.md, "Taps overhead".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 8, time = 2)
@Fork(value = 2, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TapsOverheadBenchmark {
    /** Latent side: 32 is a 256×256 image. */
    @Param({"32"})
    int latent;

    Path dir;
    Backend ops;
    UNet2DConditionModel unet;
    Tensor sample, context;
    float[] timestep = {500f};
    HookedTaps empty, observed;
    /** Step 0 of one prompt: an unconditional and a conditional row. */
    static final ModelCall STEP = ModelCall.step(0, 500, TapContext.Rows.cfg(1));
    List<Call> calls = new ArrayList<>();
    double sink;            // what the observers saw, so their work cannot be dropped

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("stitch-taps-bench-");
        RandomModel.write("tiny", dir.resolve("tiny"), 1, DType.F32, null);
        unet = UNet2DConditionModel.load(dir.resolve("tiny/unet"));
        ops = Backends.byName("cpu");
        Random r = new Random(1);
        sample = ops.fromHost(gaussian(r, 2 * 4 * latent * latent), 2, 4, latent, latent);
        context = ops.fromHost(gaussian(r, 2 * 77 * 32), 2, 77, 32);

        empty = new HookedTaps(ops);
        var shapes = ShapeBackend.INSTANCE;
        TapCatalog catalog = TapCatalog.record(shapes, c -> unet.forward(c, shapes.fromHost(new float[2 * 4 * latent * latent], 2, 4, latent, latent),
            timestep, shapes.fromHost(new float[2 * 77 * 32], 2, 77, 32)));
        List<String> blocks = catalog.resolve("unet.*.transformer_blocks.0");
        if (blocks.size() != 16) throw new IllegalStateException("expected 16 transformer blocks, found " + blocks.size());
        observed = new HookedTaps(ops, catalog);
        Capture.Sink keep = (CaptureKey key, Tensor v) -> sink += v.data()[0];
        for (String b : blocks) observed.register(b, new Capture(keep, Reduction.MEAN));   // 16 observers, one per tap
        unet.forward(new Ctx(ops, (name, layout, value, call) -> {
            calls.add(new Call(name, layout, value));
            return value;
        }), sample, timestep, context);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static float[] gaussian(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private Tensor step(Taps taps) { return unet.forward(new Ctx(ops, taps, STEP), sample, timestep, context); }

    /** One tap call of a step: what the model passed to {@code Taps.at}. */
    record Call(String name, TapLayout layout, Tensor value) {}

    private Tensor replay(Taps taps) {
        Tensor last = null;
        for (Call c : calls) last = taps.at(c.name, c.layout, c.value, STEP);
        return last;
    }

    // The whole step with each kind of taps. On a busy machine the differences drown in noise, hence the replays below.

    @Benchmark
    public Tensor stepTapsNone() { return step(Taps.NONE); }

    @Benchmark
    public Tensor stepNoHooks() { return step(empty); }

    @Benchmark
    public double step16MeanObservers() { return step(observed).data()[0] + sink; }

    // Only the tap calls of one step, replayed on the step's own values: what taps add to a step, measured directly.

    @Benchmark
    public Tensor tapCallsTapsNone() { return replay(Taps.NONE); }

    @Benchmark
    public Tensor tapCallsNoHooks() { return replay(empty); }

    @Benchmark
    public double tapCalls16MeanObservers() { return replay(observed).data()[0] + sink; }

}
