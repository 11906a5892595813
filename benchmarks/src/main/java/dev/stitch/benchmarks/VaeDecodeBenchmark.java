package dev.stitch.benchmarks;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.Weights;
import dev.stitch.engine.vae.Vae;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One image's decode at SD2-base size (64×64 latents → 512×512) on the cpu backend: SD's AutoencoderKL (the
 * sd2-base preset's config) against the tiny autoencoder (TAESD's config), random weights in memory. One decode is
 * seconds (KL: tens of seconds on two cores), so each is timed once per iteration. Run: docs/models.md, "The tiny
 * autoencoder (TAESD)".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class VaeDecodeBenchmark {
    @Param({"tiny", "kl"})
    String kind;

    /** Latent side: 64 is a 512×512 image. */
    @Param({"64"})
    int latent;

    Backend ops;
    Vae vae;
    Tensor z;

    @Setup
    public void setUp() throws IOException {
        String file = VaeKind.parse("kind", kind) == VaeKind.TINY ? "vae-tiny/config.json" : "vae/config.json";
        Path config = Files.createTempFile("stitch-vae-bench-", ".json");
        try (InputStream in = RandomModel.class.getResourceAsStream("/dev/stitch/engine/presets/sd2-base/" + file)) {
            Files.copy(in, config, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Map<String, int[]> shapes = new LinkedHashMap<>();
        Vae.build(config, Weights.random(Vae.COMPONENT, shapes));
        vae = Vae.build(config, RandomModel.inMemory(Vae.COMPONENT, shapes, 1));
        Files.delete(config);
        ops = Backends.byName("cpu");
        Random r = new Random(1);
        float[] v = new float[4 * latent * latent];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        z = ops.fromHost(v, 1, 4, latent, latent);
    }

    @Benchmark
    public Tensor decode() { return vae.decode(new Ctx(ops), z); }
}
