package dev.stitch.kernels.cpu;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.stitch.kernels.cpu.ParityCheck.randn;

/**
 * The FID Inception-v3's convs on the CPU backend: non-square kernels with per-axis padding (1×7, 7×1, 1×3, 3×1),
 * 5×5 with padding 2, fused ReLU, at its 35/17/8 feature-map sizes. A 1×7 conv on 17-wide maps once read past the
 * input where a row's copy was empty.
 */
class CpuInceptionConvTest {
    static final CpuBackend CPU = new CpuBackend(2, true);

    @Test
    void inceptionConvsMatchTheReference() {
        Random r = ParityCheck.rng("inception convs");
        int[][] kernels = {{1, 7, 0, 3}, {7, 1, 3, 0}, {1, 3, 0, 1}, {3, 1, 1, 0}, {5, 5, 2, 2}, {3, 3, 1, 1}, {3, 3, 0, 0}};
        for (int[] k : kernels)
            for (int side : new int[] {35, 17, 8})
                for (int cin : new int[] {8, 12}) {
                    Tensor x = randn(r, 2, cin, side, side), w = randn(r, 0.3, 0, 5, cin, k[0], k[1]), b = randn(r, 5);
                    String what = "conv " + k[0] + "×" + k[1] + " pad (" + k[2] + ", " + k[3] + ") on " + cin + "×" + side + "²";
                    ParityCheck.assertClose(what, ReferenceBackend.INSTANCE.conv2d(x, w, b, 1, k[2], k[2], k[3], k[3], Activation.RELU),
                        CPU.conv2d(x, w, b, 1, k[2], k[2], k[3], k[3], Activation.RELU));
                }
    }
}
