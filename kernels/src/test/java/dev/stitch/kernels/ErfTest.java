package dev.stitch.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErfTest {
    // erfc from mpmath at 30 digits
    private static final double[][] ERFC = {
        {-3.0, 1.9999779095030014146}, {-1.0, 1.8427007929497148693}, {-0.1, 1.1124629160182848984}, {0.0, 1.0},
        {0.3, 0.67137324054087258381}, {0.46875, 0.50738652678206200841}, {0.5, 0.47950012218695346232},
        {2.0, 0.0046777349810472658379}, {4.0, 1.5417257900280018852e-8}, {5.0, 1.5374597944280348502e-12},
        {6.0, 2.1519736712498913117e-17}, {10.0, 2.088487583762544757e-45}, {20.0, 5.3958656116079009289e-176}};

    @Test
    void erfcIsRelativelyExactIntoTheTail() {
        for (double[] c : ERFC) {
            double got = Erf.erfc(c[0]);
            assertEquals(c[1], got, 1e-14 * c[1], "erfc(" + c[0] + ")");
        }
    }

    @Test
    void erfIsTheComplementAndOdd() {
        for (double x = -7; x <= 7; x += 0.0625) {
            assertEquals(1 - Erf.erfc(x), Erf.erf(x), 2e-16, "erf(" + x + ")");
            assertEquals(-Erf.erf(x), Erf.erf(-x), 0, "erf is odd at " + x);
        }
    }

    @Test
    void geluKeepsItsRelativeAccuracyForNegativeInputs() {
        // x·Φ(x) at x = −7.75 is about −3.4e-14: computed as 1 + erf(x/√2) it would carry a 1% error
        double exact = -7.75 * 4.59462743577859546e-15; // Φ(−7.75), mpmath
        double got = Activation.gelu(-7.75f);
        assertTrue(Math.abs(got - exact) <= 1e-6 * Math.abs(exact), "gelu(-7.75) = " + got + ", expected " + exact);
    }
}
