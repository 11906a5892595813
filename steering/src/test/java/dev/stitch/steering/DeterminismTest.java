package dev.stitch.steering;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Same input, same bits: every extraction method and the layer score, run here (compiled by the JIT after a warm-up)
 * and in a JVM that only interprets, must agree bit for bit. An order left open (a lane reduction, a parallel sum, a
 * hash map's order) or a math function allowed to differ between implementations shows up as a difference.
 */
class DeterminismTest {
    /** A digest of every method's output and the layer score on fixed random pairs. */
    static String digest() {
        Random r = new Random(42);
        int n = 9, c = 48;
        float[][] pos = new float[n][c], neg = new float[n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                neg[i][j] = (float) r.nextGaussian();
                pos[i][j] = neg[i][j] + 0.5f + (float) r.nextGaussian() * 0.3f;
            }
        List<String> parts = new ArrayList<>();
        for (Method m : Method.values()) {
            Extraction.Result res = Extraction.extract(m, pos, neg);
            long h = 17;
            if (res.direction() != null) for (float v : res.direction()) h = h * 31 + Float.floatToRawIntBits(v);
            else
                for (float[] part : new float[][] {res.transport().omega(), res.transport().beta(), res.transport().lo(), res.transport().hi()})
                    for (float v : part) h = h * 31 + Float.floatToRawIntBits(v);
            parts.add(m.cliName + "=" + Long.toHexString(h));
        }
        LayerScore s = LayerScore.of(pos, neg);
        parts.add("score=" + Long.toHexString(Double.doubleToRawLongBits(s.discriminability())) + "," + Long.toHexString(Double.doubleToRawLongBits(s.consistency())));
        return String.join(" ", parts);
    }

    public static void main(String[] args) { System.out.print(digest()); }

    @Test
    void interpretedAndCompiledCodeGiveTheSameBits() throws IOException, InterruptedException {
        String compiled = digest();
        for (int i = 0; i < 30; i++) assertEquals(compiled, digest(), "run " + i);   // hot loops are compiled by now
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xint", "-cp", System.getProperty("java.class.path"), DeterminismTest.class.getName())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the interpreted run finished");
        assertEquals(0, p.exitValue(), out);
        assertEquals(compiled, out.strip(), "interpreted (-Xint) and compiled code differ");
    }
}
