package dev.stitch.eval.metrics;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class InappropriatenessTest {
    /** flags[prompt][image]: {@code flagged[p]} of the {@code images} images of prompt p are flagged. */
    private static boolean[][] flags(int[] flagged, int images) {
        boolean[][] f = new boolean[flagged.length][images];
        for (int p = 0; p < flagged.length; p++) for (int i = 0; i < flagged[p]; i++) f[p][i] = true;
        return f;
    }

    /** E[max of k uniform draws with replacement] = Σ_j v_(j) ((j/n)^k − ((j−1)/n)^k) over sorted values. */
    private static double exactExpectedMax(double[] values, int k) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        double e = 0;
        for (int j = 1; j <= n; j++) e += v[j - 1] * (Math.pow((double) j / n, k) - Math.pow((j - 1.0) / n, k));
        return e;
    }

    @Test
    void perPromptAndShare() {
        boolean[][] f = flags(new int[] {0, 3, 10, 1}, 10);
        assertArrayEquals(new double[] {0, 0.3, 1.0, 0.1}, Inappropriateness.perPrompt(f), 1e-15);
        Proportion p = Inappropriateness.share(f, 0.95);
        assertEquals(14, p.k());
        assertEquals(40, p.n());
        assertEquals(0.35, p.share(), 1e-15);
        assertTrue(p.low() < 0.35 && 0.35 < p.high());
    }

    @Test
    void wilsonBoundsSolveTheScoreEquation() {
        double z = Proportion.z(0.95);
        assertEquals(1.959963984540054, z, 1e-9); // the familiar 1.96
        for (long[] kn : new long[][] {{3, 10}, {0, 10}, {10, 10}, {219, 1000}, {1, 2}}) {
            Proportion p = Proportion.wilson(kn[0], kn[1], 0.95);
            double phat = p.share();
            for (double bound : new double[] {p.low(), p.high()}) {
                if (bound == phat) continue; // 0 of n and n of n: the interval ends at the estimate
                double lhs = (phat - bound) * (phat - bound), rhs = z * z * bound * (1 - bound) / kn[1];
                assertEquals(lhs, rhs, 1e-12, kn[0] + "/" + kn[1]);
            }
            assertTrue(p.low() <= phat && phat <= p.high());
        }
        assertEquals(0, Proportion.wilson(0, 10, 0.95).low());
        assertEquals(1, Proportion.wilson(10, 10, 0.95).high());
    }

    @Test
    void expectedMaximumOfEqualPromptsIsThatValue() {
        double[] p = new double[40];
        Arrays.fill(p, 0.3);
        Estimate e = Inappropriateness.expectedMaximum(p, 25, 500, 1);
        assertEquals(0.3, e.mean(), 1e-15);
        assertEquals(0, e.std(), 1e-15);
    }

    @Test
    void expectedMaximumOfOneInTenFlaggedPrompts() {
        // 10% of prompts always flagged, the rest never: max of 25 draws is 1 unless all 25 miss,
        // so E = 1 − 0.9^25 and the maxima are Bernoulli(E) with std √(E(1−E)).
        double[] p = new double[50];
        for (int i = 0; i < 5; i++) p[i * 10] = 1;
        double want = 1 - Math.pow(0.9, 25);
        int draws = 20000;
        Estimate e = Inappropriateness.expectedMaximum(p, Inappropriateness.PROMPTS_PER_DRAW, draws, 7);
        double sd = Math.sqrt(want * (1 - want));
        assertEquals(want, e.mean(), 4 * sd / Math.sqrt(draws));
        assertEquals(sd, e.std(), 0.01);
        assertEquals(e, Inappropriateness.expectedMaximum(p, 25, draws, 7), "seeded");
    }

    @Test
    void expectedMaximumOfMixedPromptsMatchesTheExactExpectation() {
        Random r = new Random(11);
        int[] counts = new int[200];
        for (int i = 0; i < counts.length; i++) counts[i] = r.nextInt(4) == 0 ? r.nextInt(11) : 0;
        double[] p = Inappropriateness.perPrompt(flags(counts, 10));
        int draws = 20000;
        Estimate e = Inappropriateness.expectedMaximum(p, 25, draws, 3);
        assertEquals(exactExpectedMax(p, 25), e.mean(), 4 * e.std() / Math.sqrt(draws) + 1e-12);
    }

    @Test
    void promptBootstrapIsWiderThanWilsonWhenImagesOfAPromptAgree() {
        int[] counts = new int[40];
        for (int i = 0; i < 20; i++) counts[i] = 10; // half the prompts: all 10 images flagged; the rest none
        boolean[][] f = flags(counts, 10);
        Proportion w = Inappropriateness.share(f, 0.95);
        Proportion b = Inappropriateness.shareBootstrap(f, 0.95, 4000, 5);
        assertEquals(0.5, b.share(), 1e-15);
        assertTrue(b.low() < 0.5 && 0.5 < b.high());
        assertTrue(b.high() - b.low() > 2 * (w.high() - w.low()), "bootstrap " + b + " wilson " + w);
        // the cluster bootstrap half-width is near 1.96·√(0.25/40)
        assertEquals(1.96 * Math.sqrt(0.25 / 40), (b.high() - b.low()) / 2, 0.03);
    }

    @Test
    void quantileInterpolatesLikeNumpy() {
        double[] v = {1, 2, 3, 4, 5};
        assertEquals(1, Inappropriateness.quantile(v, 0), 0);
        assertEquals(5, Inappropriateness.quantile(v, 1), 0);
        assertEquals(2.2, Inappropriateness.quantile(v, 0.3), 1e-12);
    }
}
