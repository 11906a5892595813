package dev.stitch.cli;

import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.kernels.DType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The built-in tiny random-weight model, written once per test JVM into a temporary folder removed at exit. */
final class TinyModel {
    private static Path dir;

    private TinyModel() {}

    static synchronized Path get() {
        if (dir != null) return dir;
        try {
            Path root = Files.createTempDirectory("stitch-cli-tiny-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(root)));
            RandomModel.write("tiny", root.resolve("tiny"), 7, DType.F32, null);
            return dir = root.resolve("tiny");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary folder: the OS cleans up what is left
        }
    }
}
