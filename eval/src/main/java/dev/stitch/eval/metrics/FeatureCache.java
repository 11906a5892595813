package dev.stitch.eval.metrics;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Features of the images in one folder, with their {@link FeatureStats}, cached in a safetensors file so that a
 * reference set (COCO images, a baseline run) is embedded once. The cache is keyed by a SHA-256 of the extractor's
 * name and, for every image file in name order, its name, size and modification time: adding, removing or
 * rewriting an image, or changing the extractor, recomputes it.
 * <p>
 * The file holds {@code features} F32 [N,D] (KID needs them), {@code mean} F64 [D] and {@code cov} F64 [D,D], and
 * the key in its metadata. It is written atomically.
 */
public record FeatureCache(List<Path> files, float[][] features, FeatureStats stats) {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The cache file for {@code folder}'s features in the cache directory {@code cacheDir}:
     * {@code <folder name>-<8 hex digits of its absolute path>-<extractor>.safetensors}, so that two folders of one name
     * keep their own files. The cache lives outside the image folder: an input is never written to.
     */
    public static Path cacheFile(Path cacheDir, Path folder, String extractor) {
        Path abs = folder.toAbsolutePath().normalize();
        String name = abs.getFileName() == null ? "root" : abs.getFileName().toString();
        String tag;
        try {
            tag = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(abs.toString().getBytes(StandardCharsets.UTF_8)), 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return cacheDir.resolve((name + "-" + tag + "-" + extractor).replaceAll("[^A-Za-z0-9._-]", "_") + ".safetensors");
    }

    /** The images of {@code folder} (.png, .jpg, .jpeg, any case), sorted by name; sub-folders are not read. */
    public static List<Path> images(Path folder) {
        if (!Files.isDirectory(folder)) throw new UserError(folder + ": not a folder of images");
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder, e);
        }
    }

    /** The cache key of these files for this extractor. */
    public static String key(String extractor, List<Path> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((extractor + "\n").getBytes(StandardCharsets.UTF_8));
            for (Path f : files) {
                String line = f.getFileName() + "\0" + Files.size(f) + "\0"
                    + Files.getLastModifiedTime(f).toInstant() + "\n";
                md.update(line.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read file times", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The features of {@code folder}'s images: read from {@code cacheFile} when its key matches, else computed by
     * {@code extract} (given the image files in order, returning one row per file) and written there.
     */
    public static FeatureCache load(Path folder, String extractor, Path cacheFile, Function<List<Path>, float[][]> extract) {
        List<Path> files = images(folder);
        if (files.size() < 2) throw new UserError(folder + ": " + files.size() + " image(s), feature statistics need at least 2");
        String key = key(extractor, files);
        if (Files.isRegularFile(cacheFile)) {
            SafeTensors st = SafeTensors.open(cacheFile);
            if (key.equals(st.metadata().get("key"))) return new FeatureCache(files, readFeatures(st), FeatureStats.read(st));
        }
        float[][] features = extract.apply(files);
        if (features.length != files.size())
            throw new IllegalStateException("extractor returned " + features.length + " rows for " + files.size() + " images");
        FeatureStats stats = FeatureStats.of(features);
        int d = stats.dim();
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(features.length * 4, d)]);
        for (int i = 0; i < features.length; i++)
            MemorySegment.copy(features[i], 0, seg, F32_LE, (long) i * d * 4, d);
        SafeTensorsWriter w = new SafeTensorsWriter()
            .metadata("key", key).metadata("extractor", extractor).metadata("files", Integer.toString(files.size()))
            .add("features", SafeDType.F32, new long[] {features.length, d}, seg);
        try {
            Files.createDirectories(cacheFile.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UserError("cannot create the feature cache folder " + cacheFile.getParent() + " (" + e.getMessage() + ")");
        }
        stats.addTo(w).write(cacheFile);
        return new FeatureCache(files, features, stats);
    }

    private static float[][] readFeatures(SafeTensors st) {
        var e = st.entry("features");
        if (e.dtype() != SafeDType.F32 || e.shape().length != 2) throw new UserError(st.file() + ": expected F32 'features' [N,D]");
        int n = Math.toIntExact(e.shape()[0]), d = Math.toIntExact(e.shape()[1]);
        MemorySegment s = st.bytes("features");
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) MemorySegment.copy(s, F32_LE, (long) i * d * 4, out[i], 0, d);
        return out;
    }
}
