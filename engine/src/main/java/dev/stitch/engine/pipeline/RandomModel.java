package dev.stitch.engine.pipeline;

import dev.stitch.engine.RandomInit;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.text.ClipTextConfig;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.engine.tokenizer.ByteLevelVocabulary;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.unet.UNetConfig;
import dev.stitch.engine.vae.Vae;
import dev.stitch.engine.vae.VaeKind;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a random-weight model folder in diffusers layout from one of the built-in presets ({@code tiny}: SD2's full
 * block structure at small widths with a byte-level vocabulary, the model demos and tests run on;
 * {@code sd2-base} and {@code sd2-768}: the real configs, for full-size timing; {@code sd-turbo}: sd2-base's
 * architecture with stabilityai/sd-turbo's scheduler config, and {@code tiny-turbo}: tiny with that scheduler). The
 * VAE is SD's AutoencoderKL, or with {@link VaeKind#TINY} an AutoencoderTiny (TAESD's config for the full-size
 * presets, 12 channels for the tiny ones). The tensors are exactly those the models ask for when built from the
 * configs, so the folder loads like a real one. Deterministic per seed.
 */
public final class RandomModel {
    private RandomModel() {}

    public static final List<String> PRESETS = List.of("tiny", "sd2-base", "sd2-768", "sd-turbo", "tiny-turbo");
    private static final String[] FILES = {"model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
        "unet/config.json", "vae/config.json"};

    /** Writes preset {@code preset} into {@code out} (which must not exist or be empty), atomically. */
    public static void write(String preset, Path out, long seed, DType dtype, Path tokenizerDir) {
        write(preset, VaeKind.KL, out, seed, dtype, tokenizerDir);
    }

    /** As {@link #write(String, Path, long, DType, Path)}, with a VAE of {@code vae}'s class. */
    public static void write(String preset, VaeKind vae, Path out, long seed, DType dtype, Path tokenizerDir) {
        if (!PRESETS.contains(preset)) throw new UserError("--config " + preset + ": expected one of " + String.join(", ", PRESETS));
        write(f -> {
            String file = vae == VaeKind.TINY && f.equals("vae/config.json") ? "vae-tiny/config.json" : f;
            InputStream in = RandomModel.class.getResourceAsStream("/dev/stitch/engine/presets/" + preset + "/" + file);
            if (in == null) throw new IllegalStateException("preset file missing from the jar: " + preset + "/" + f);
            return in;
        }, out, seed, dtype, tokenizerDir);
    }

    /**
     * As {@link #write(String, Path, long, DType, Path)}, with the five config files (model_index.json, the
     * scheduler, text encoder, UNet and VAE configs) read from the folder {@code configs}: random weights for any
     * topology, such as a model with other widths than the presets'.
     */
    public static void writeFromConfigs(Path configs, Path out, long seed, DType dtype, Path tokenizerDir) {
        for (String f : FILES) if (!Files.isRegularFile(configs.resolve(f))) throw new UserError(configs + ": missing " + f);
        write(f -> Files.newInputStream(configs.resolve(f)), out, seed, dtype, tokenizerDir);
    }

    private interface ConfigSource {
        InputStream open(String file) throws IOException;
    }

    private static void write(ConfigSource configs, Path out, long seed, DType dtype, Path tokenizerDir) {
        try {
            AtomicFiles.cleanStale(out);
            if (Files.exists(out) && (!Files.isDirectory(out) || !isEmpty(out)))
                throw new UserError(out + ": already exists and is not an empty folder");
            Path tmp = AtomicFiles.tempDirBeside(out);   // default permissions, unlike Files.createTempDirectory
            try {
                for (String f : FILES) {
                    Path target = tmp.resolve(f);
                    Files.createDirectories(target.getParent());
                    try (InputStream in = configs.open(f)) {
                        Files.copy(in, target);
                    }
                }
                if (tokenizerDir != null) copyTokenizer(tokenizerDir, tmp.resolve("tokenizer"));
                else ByteLevelVocabulary.write(tmp.resolve("tokenizer"));

                Map<String, int[]> shapes = new LinkedHashMap<>();
                new ClipTextModel(ClipTextConfig.read(tmp.resolve("text_encoder/config.json")), Weights.random("text_encoder", shapes));
                writeWeights(shapes, seed, dtype, tmp.resolve("text_encoder/model.safetensors"));
                shapes.clear();
                new UNet2DConditionModel(UNetConfig.load(tmp.resolve("unet/config.json")), Weights.random("unet", shapes));
                writeWeights(shapes, seed + 1, dtype, tmp.resolve("unet/" + UNet2DConditionModel.WEIGHTS));
                writeVaeWeights(tmp.resolve("vae"), seed + 2, dtype);

                if (Files.exists(out)) Files.delete(out);
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            } finally {
                if (tmp != null) deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UserError("cannot write model to " + out + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes random weights for the VAE whose {@code config.json} is in {@code vaeDir} (AutoencoderKL or
     * AutoencoderTiny, by its {@code _class_name}) into that folder.
     */
    public static void writeVaeWeights(Path vaeDir, long seed, DType dtype) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        Vae.build(vaeDir.resolve("config.json"), Weights.random(Vae.COMPONENT, shapes));
        writeWeights(shapes, seed, dtype, vaeDir.resolve(Vae.WEIGHTS));
    }

    /**
     * Random weights in memory for the tensors {@code shapes} lists (as recorded by building a model over
     * {@link Weights#random}): for benchmarks that want a full-size model without writing it to disk.
     */
    public static Weights inMemory(String component, Map<String, int[]> shapes, long seed) {
        Map<String, dev.stitch.kernels.Tensor> tensors = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> tensors.put(name, RandomInit.tensor(name, seed, shape)));
        return Weights.of(component, "random " + component, tensors);
    }

    private static void writeWeights(Map<String, int[]> shapes, long seed, DType dtype, Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt").metadata("stitch", "random weights, seed " + seed);
        shapes.forEach((name, shape) -> w.add(name, SafeDType.of(dtype), SafeTensorsWriter.toLong(shape),
            () -> SafeTensorsWriter.bytesOf(RandomInit.tensor(name, seed, shape).data(), dtype)));
        w.write(file);
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        for (String f : new String[] {"vocab.json", "merges.txt"})
            if (!Files.isRegularFile(from.resolve(f))) throw new UserError("--tokenizer " + from + ": missing " + f);
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, to.resolve(p.getFileName().toString()));
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
