package dev.stitch.eval.metrics;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class FeatureCacheTest {
    /** A stand-in extractor: features from the file's bytes. */
    private static float[][] features(List<Path> files) {
        float[][] out = new float[files.size()][3];
        try {
            for (int i = 0; i < files.size(); i++) {
                byte[] b = Files.readAllBytes(files.get(i));
                for (int j = 0; j < 3; j++) out[i][j] = b[j % b.length] * (j + 1) + b.length;
            }
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
        return out;
    }

    @Test
    void computesOnceAndRecomputesWhenTheFolderChanges(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectory(dir.resolve("images"));
        for (int i = 0; i < 4; i++) Files.write(images.resolve(i + ".png"), new byte[] {(byte) (3 * i + 1), (byte) (7 - i), (byte) i});
        Files.writeString(images.resolve("notes.txt"), "not an image");
        Path cacheDir = dir.resolve("cache");
        Path cache = FeatureCache.cacheFile(cacheDir, images, "inception-v3/pool3");
        assertTrue(cache.getFileName().toString().matches("images-[0-9a-f]{8}-inception-v3_pool3\\.safetensors"), cache.toString());
        assertNotEquals(cache, FeatureCache.cacheFile(cacheDir, dir.resolve("elsewhere/images"), "inception-v3/pool3"),
            "two folders of one name keep their own caches");
        AtomicInteger calls = new AtomicInteger();
        List<List<String>> seen = new ArrayList<>();
        var extractor = (java.util.function.Function<List<Path>, float[][]>) files -> {
            calls.incrementAndGet();
            seen.add(files.stream().map(p -> p.getFileName().toString()).toList());
            return features(files);
        };

        FeatureCache first = FeatureCache.load(images, "inception-v3/pool3", cache, extractor);
        assertEquals(1, calls.get());
        assertEquals(List.of("0.png", "1.png", "2.png", "3.png"), seen.getFirst());
        assertTrue(Files.isRegularFile(cache));

        FeatureCache again = FeatureCache.load(images, "inception-v3/pool3", cache, extractor);
        assertEquals(1, calls.get(), "second load reads the cache");
        assertArrayEquals(first.features(), again.features());
        assertArrayEquals(first.stats().mean(), again.stats().mean());
        for (int i = 0; i < 3; i++) assertArrayEquals(first.stats().cov()[i], again.stats().cov()[i]);

        Files.setLastModifiedTime(images.resolve("2.png"), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        FeatureCache.load(images, "inception-v3/pool3", cache, extractor);
        assertEquals(2, calls.get(), "a new mtime invalidates the cache");

        Files.write(images.resolve("4.jpg"), new byte[] {9, 9, 1});
        FeatureCache grown = FeatureCache.load(images, "inception-v3/pool3", cache, extractor);
        assertEquals(3, calls.get(), "a new image invalidates the cache");
        assertEquals(5, grown.features().length);

        FeatureCache.load(images, "clip-vit-h", FeatureCache.cacheFile(cacheDir, images, "clip-vit-h"), extractor);
        assertEquals(4, calls.get(), "another extractor has its own cache");
        FeatureCache.load(images, "inception-v3/pool3", cache, extractor);
        assertEquals(4, calls.get());
        try (var files = Files.list(images)) {
            assertEquals(0, files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).count(), "nothing written into the image folder");
        }
    }

    @Test
    void tooFewImagesIsAUserError(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("only.png"), new byte[] {1});
        UserError e = assertThrows(UserError.class, () -> FeatureCache.load(dir, "x", dir.resolve("c.safetensors"), FeatureCacheTest::features));
        assertTrue(e.getMessage().contains("1 image(s)"), e.getMessage());
    }
}
