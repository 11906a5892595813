package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.stitch.kernels.cpu.ParityCheck.SEED;
import static dev.stitch.kernels.cpu.ParityCheck.assertClose;
import static dev.stitch.kernels.cpu.ParityCheck.mappedWeight;
import static dev.stitch.kernels.cpu.ParityCheck.randn;
import static dev.stitch.kernels.cpu.ParityCheck.relL2;
import static dev.stitch.kernels.cpu.ParityCheck.rng;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Winograd F(4×4, 3×3) path against the reference (double accumulation) on random inputs: the UNet's and the
 * VAE's 3×3 convolutions at small spatial sizes, and odd shapes (sides not multiples of the 4×4 tile, 1×1 and 1×n
 * images, channel counts off the vector width, a transformed input cut into chunks).
 *
 * <p>Error: F(4,3) in f32 rounds in its transforms (the 1/6, 1/12 and 1/24 of the filter transform, the ×8 of the
 * output one). Measured here on unit-variance inputs and weights scaled 1/√(9·Cin): relative L2 0.3–8e-6 with up
 * to 2560 input channels, growing with Cin, about four times the direct path (0.1–2e-6 on the same cases). Each case must stay under {@link #TOL}, well under the
 * ... 
 */
class WinogradParityTest {
    private static final CpuBackend WINOGRAD = new CpuBackend(3, true, ConvAlgorithm.WINOGRAD);
    private static final CpuBackend DIRECT = new CpuBackend(3, true, ConvAlgorithm.DIRECT);
    private static final CpuBackend AUTO = new CpuBackend(3, true, ConvAlgorithm.AUTO);

    /** Relative L2 error allowed for Winograd (measured ≤ 2.3e-7, see above). */
    static final double TOL = 2e-5;

    /** {batch, Cin, H, W, Cout}, all 3×3 stride 1 padding 1. */
    private static final int[][] SHAPES = {
        {2, 320, 8, 8, 320},     // UNet level 1, small latent
        {2, 640, 4, 4, 640},     // level 2
        {1, 1280, 4, 4, 1280},   // level 3
        {2, 2560, 2, 2, 1280},   // an up block's first resnet conv (skip concat)
        {1, 960, 4, 4, 640},     // up block, mixed widths
        {2, 4, 8, 8, 320},       // conv_in
        {2, 320, 8, 8, 4},       // conv_out
        {1, 4, 8, 8, 512},       // VAE decoder conv_in
        {1, 512, 8, 8, 512},     // VAE 512-wide levels
        {1, 256, 12, 12, 256},   // VAE
        {1, 128, 16, 16, 128},   // VAE last level
        {1, 128, 16, 16, 3},     // VAE conv_out
        {2, 37, 5, 7, 19},       // sides not multiples of 4, channels off the vector width
        {1, 33, 13, 9, 45},
        {2, 32, 1, 1, 32},       // 1×1 image: every tap but the centre in padding
        {1, 17, 1, 23, 8},       // one row
        {1, 9, 30, 2, 5},        // two columns
        {3, 64, 6, 70, 70},      // a tile row longer than a panel
    };

    @Test
    void matchesTheReferenceAtModelAndOddShapes() {
        Random r = rng("winograd");
        Activation[] acts = Activation.values();
        StringBuilder report = new StringBuilder();
        int i = 0;
        for (int[] s : SHAPES) {
            Activation act = acts[i % acts.length];
            boolean bias = i++ % 3 != 2;
            Tensor x = randn(r, s[0], s[1], s[2], s[3]), w = randn(r, 1 / Math.sqrt(9.0 * s[1]), 0, s[4], s[1], 3, 3);
            Tensor b = bias ? randn(r, 0.5, 0, s[4]) : null;
            Tensor ref = ReferenceBackend.INSTANCE.conv2d(x, w, b, 1, 1, 1, 1, 1, act);
            Tensor got = WINOGRAD.conv2d(x, w, b, 1, 1, 1, 1, 1, act);
            String what = "winograd " + Arrays.toString(s) + " " + act + (bias ? " +bias" : "");
            assertClose(what, ref, got, TOL);
            report.append(String.format("%s: %.2e (direct %.2e)%n", what, relL2(ref.data(), got.data()),
                relL2(ref.data(), DIRECT.conv2d(x, w, b, 1, 1, 1, 1, 1, act).data())));
        }
        System.out.print(report);
    }

    @Test
    void chunksOfTileRowsAcrossImages() {
        // 128 channels, 40 tiles a row: the transformed input is cut into chunks of 22 tile rows, so one chunk ends
        // inside the second image
        Random r = rng("winograd chunks");
        Tensor x = randn(r, 2, 128, 48, 160), w = randn(r, 1 / Math.sqrt(9.0 * 128), 0, 24, 128, 3, 3), b = randn(r, 24);
        assertClose("winograd in chunks", ReferenceBackend.INSTANCE.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.SILU),
            WINOGRAD.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.SILU), TOL);
    }

    @Test
    void mappedWeightsInEveryDType() {
        Random r = rng("winograd mapped");
        for (DType dt : DType.values()) {
            Tensor x = randn(r, 2, 40, 9, 11), w = mappedWeight(r, dt, 0.05, 48, 40, 3, 3), b = randn(r, 48);
            assertClose("winograd " + dt, ReferenceBackend.INSTANCE.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE),
                WINOGRAD.conv2d(x, w, b, 1, 1, 1, 1, 1, Activation.NONE), TOL);
        }
    }

    @Test
    void autoTakesWinogradWhereItPaysAndDirectElsewhere() {
        Random r = rng("winograd auto");
        // 2 × 32 × 32 at 64 channels: 128 tiles, Winograd; 16 channels: direct; stride 2: direct
        Tensor x = randn(r, 2, 64, 32, 32), w = randn(r, 0.04, 0, 64, 64, 3, 3);
        assertTrue(Winograd.pays(64, 64, 32, 32));
        assertArrayEquals(WINOGRAD.conv2d(x, w, null, 1, 1).data(), AUTO.conv2d(x, w, null, 1, 1).data(), "seed " + SEED);
        Tensor x16 = randn(r, 2, 16, 32, 32), w16 = randn(r, 0.08, 0, 16, 16, 3, 3);
        assertArrayEquals(DIRECT.conv2d(x16, w16, null, 1, 1).data(), AUTO.conv2d(x16, w16, null, 1, 1).data(), "seed " + SEED);
        assertArrayEquals(DIRECT.conv2d(x, w, null, 2, 1).data(), AUTO.conv2d(x, w, null, 2, 1).data(), "seed " + SEED);
    }

    @Test
    void anImageComesOutTheSameWhateverItIsBatchedWith() {
        Random r = rng("winograd batch");
        // 16×16 at 64 channels takes Winograd, 8×8 the direct path, alone and in a batch of three alike
        for (int side : new int[] {16, 8}) {
            Tensor x = randn(r, 3, 64, side, side), w = randn(r, 0.04, 0, 64, 64, 3, 3), b = randn(r, 64);
            float[] batched = AUTO.conv2d(x, w, b, 1, 1).data();
            int per = 64 * side * side;
            for (int i = 0; i < 3; i++) {
                Tensor one = Tensor.of(java.util.Arrays.copyOfRange(x.data(), i * per, (i + 1) * per), 1, 64, side, side);
                assertArrayEquals(AUTO.conv2d(one, w, b, 1, 1).data(), java.util.Arrays.copyOfRange(batched, i * per, (i + 1) * per),
                    side + "×" + side + " image " + i + ", seed " + SEED);
            }
        }
    }
}
