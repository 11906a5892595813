package dev.stitch.engine.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The conformance model's tokenizer, loaded once for all test classes (the real vocabulary takes a second). */
public final class TestTokenizers {
    public static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    private static ClipTokenizer sd2;

    private TestTokenizers() {}

    /** SD2's tokenizer from {@code conformance/tiny-sd2/tokenizer}; skips the calling test when the data is absent. */
    public static synchronized ClipTokenizer sd2() {
        Path dir = CONFORMANCE.resolve("tiny-sd2/tokenizer");
        assumeTrue(Files.isDirectory(dir), "conformance tokenizer not found at " + dir + ": skipped");
        if (sd2 == null) sd2 = ClipTokenizer.load(dir);
        return sd2;
    }
}
