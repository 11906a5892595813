package dev.stitch.eval.stats;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The study's statistics against values known by hand or from the textbook. */
class StatsTest {

    @Test
    void spearmanOfTheTextbookExample() {
        // IQ against hours of television a week (the Wikipedia example): ρ = −29/165; the interval by hand from
        // atanh(ρ) ± 1.959964 · √((1 + ρ²/2) / 7)
        double[] iq = {106, 100, 86, 101, 99, 103, 97, 113, 112, 110};
        double[] tv = {7, 27, 2, 50, 28, 29, 20, 12, 6, 17};
        RankCorrelation r = RankCorrelation.spearman(iq, tv, 0.95);
        assertEquals(-29.0 / 165, r.rho(), 1e-12);
        assertEquals(-0.7278300282394071, r.ciLow(), 1e-9);
        assertEquals(0.5145466616329561, r.ciHigh(), 1e-9);
        assertEquals(10, r.n());
    }

    @Test
    void spearmanGivesTiesTheirAverageRankAndNoIntervalBelowFourPoints() {
        // x ranks 1, 2.5, 2.5, 4; y is monotone in x except for the tie: ρ = Pearson of the ranks
        RankCorrelation r = RankCorrelation.spearman(new double[] {1, 2, 2, 3}, new double[] {10, 20, 30, 40}, 0.95);
        double expected = pearson(new double[] {1, 2.5, 2.5, 4}, new double[] {1, 2, 3, 4});
        assertEquals(expected, r.rho(), 1e-12);
        RankCorrelation small = RankCorrelation.spearman(new double[] {1, 2, 3}, new double[] {3, 1, 2}, 0.95);
        assertTrue(Double.isNaN(small.ciLow()) && Double.isNaN(small.ciHigh()));
        assertThrows(IllegalArgumentException.class, () -> RankCorrelation.spearman(new double[] {1, Double.NaN}, new double[] {1, 2}, 0.95));
    }

    @Test
    void mcnemarExactTest() {
        // 1 pair turned yes→no, 8 no→yes: p = 2 · P(X ≤ 1 | 9, ½) = 2 · 10/512
        McNemar m = McNemar.of(1, 8, 31);
        assertEquals(0.0390625, m.pValue(), 1e-12);
        assertEquals(1.0, McNemar.of(0, 0, 10).pValue());
        assertEquals(1.0, McNemar.of(4, 4, 0).pValue(), 1e-12, "balanced discordance: no evidence");
        boolean[] base = {true, true, true, false, false, true};
        boolean[] steered = {false, false, true, false, true, false};
        McNemar fromPairs = McNemar.of(base, steered);
        assertEquals(3, fromPairs.yesToNo());
        assertEquals(1, fromPairs.noToYes());
        assertEquals(2, fromPairs.concordant());
        assertEquals(2 * 5.0 / 16, fromPairs.pValue(), 1e-12);
    }

    @Test
    void bootstrapOfAConstantDifferenceIsThatDifference() {
        double[] base = {0.2, 0.5, 0.9, 0.1}, treated = {0.45, 0.75, 1.15, 0.35};
        PairedDifference d = PairedDifference.of(treated, base, 3);
        assertEquals(0.25, d.mean(), 1e-12);
        assertEquals(0.25, d.ciLow(), 1e-12);
        assertEquals(0.25, d.ciHigh(), 1e-12);
        assertTrue(d.significant());
    }

    @Test
    void bootstrapIntervalMatchesTheNormalIntervalForManyPairsAndIsSeeded() {
        Random r = new Random(4);
        int n = 400;
        double[] base = new double[n], treated = new double[n];
        for (int i = 0; i < n; i++) {
            base[i] = r.nextGaussian() * 5;             // shared by the pair: cancels
            treated[i] = base[i] + 0.3 + r.nextGaussian();
        }
        PairedDifference d = PairedDifference.of(treated, base, 7);
        double[] diff = new double[n];
        for (int i = 0; i < n; i++) diff[i] = treated[i] - base[i];
        double mean = PairedDifference.mean(diff), var = 0;
        for (double x : diff) var += (x - mean) * (x - mean) / (n - 1);
        double half = 1.959964 * Math.sqrt(var / n);
        assertEquals(mean, d.mean(), 1e-12);
        assertEquals(mean - half, d.ciLow(), 0.15 * half);
        assertEquals(mean + half, d.ciHigh(), 0.15 * half);
        assertEquals(d, PairedDifference.of(treated, base, 7), "same seed, same interval");
        double[] noiseOnly = new double[n];
        for (int i = 0; i < n; i++) noiseOnly[i] = base[i] + r.nextGaussian() * 0.01;
        PairedDifference none = PairedDifference.of(noiseOnly, base, 7);
        assertFalse(none.significant(), none.toString());
        assertTrue(d.significant());
        assertThrows(IllegalArgumentException.class, () -> PairedDifference.of(new double[] {Double.NaN}, new double[] {0}, 1));
    }

    private static double pearson(double[] a, double[] b) {
        double ma = 0, mb = 0;
        for (int i = 0; i < a.length; i++) { ma += a[i] / a.length; mb += b[i] / b.length; }
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }
}
