package dev.stitch.eval.metrics;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class FeatureStatsTest {
    static float[][] random(Random r, int n, int d, double offset) {
        float[][] x = new float[n][d];
        for (float[] row : x) for (int j = 0; j < d; j++) row[j] = (float) (offset + r.nextGaussian() * (1 + j));
        return x;
    }

    @Test
    void meanAndUnbiasedCovarianceMatchATwoPassComputation() {
        Random r = new Random(5);
        int n = 150, d = 9; // more rows than one accumulator block
        float[][] x = random(r, n, d, 1e4); // a large offset: the shifted sums must not lose the variances
        FeatureStats s = FeatureStats.of(x);
        double[] mean = new double[d];
        for (float[] row : x) for (int j = 0; j < d; j++) mean[j] += row[j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        for (int i = 0; i < d; i++) {
            assertEquals(mean[i], s.mean()[i], 1e-9 * Math.abs(mean[i]));
            for (int j = 0; j < d; j++) {
                double c = 0;
                for (float[] row : x) c += (row[i] - mean[i]) * (row[j] - mean[j]);
                c /= n - 1;
                assertEquals(c, s.cov()[i][j], 1e-9 * (1 + i) * (1 + j), "cov[" + i + "][" + j + "]");
                assertEquals(s.cov()[i][j], s.cov()[j][i]);
            }
        }
        assertEquals(n, s.count());
    }

    @Test
    void roundTripsThroughSafetensorsExactly(@TempDir Path dir) {
        FeatureStats s = FeatureStats.of(random(new Random(6), 30, 5, 0.5));
        Path f = dir.resolve("stats.safetensors");
        s.addTo(new SafeTensorsWriter()).write(f);
        FeatureStats back = FeatureStats.read(SafeTensors.open(f));
        assertArrayEquals(s.mean(), back.mean());
        for (int i = 0; i < s.dim(); i++) assertArrayEquals(s.cov()[i], back.cov()[i]);
        assertEquals(30, back.count());
    }

    @Test
    void refusesTooFewOrNonFiniteRows() {
        assertThrows(IllegalStateException.class, () -> FeatureStats.of(new float[][] {{1, 2}}));
        assertThrows(IllegalArgumentException.class, () -> FeatureStats.of(new float[][] {{1, 2}, {Float.NaN, 0}}));
        assertThrows(IllegalArgumentException.class, () -> FeatureStats.of(new float[][] {{1, 2}, {1}}));
    }
}
