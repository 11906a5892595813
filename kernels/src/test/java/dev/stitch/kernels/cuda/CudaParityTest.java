package dev.stitch.kernels.cuda;

import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every op on the GPU against the reference backend, on fresh random inputs (the seed is printed with any failure;
 * {@code -Dstitch.seed=N} repeats it). Relative L2 error at most 1e-5 in f32, and for ops on tensor cores 1e-3 in
 * f16 and 3e-3 in bf16 (the rest compute in f32 in every mode and keep 1e-5). Skipped without a GPU, unless
 * {@code -Dstitch.gpu=required}, which makes a missing GPU a failure.
 */
class CudaParityTest {
    /** Skips (visibly: the reason is printed and reported) without a GPU, or fails when one is required. */
    static void requireGpu() {
        if (CudaBackend.isAvailable()) return;
        String reason = "no CUDA GPU: " + CudaBackend.unavailableReason();
        if ("required".equals(System.getProperty("stitch.gpu"))) fail(reason + " (and -Dstitch.gpu=required)");
        System.out.println("[skipped] " + reason);
        Assumptions.assumeTrue(false, reason);
    }

    private static double tolerance(DType precision, OpCases.OpCase c) {
        double half = precision == DType.F16 ? 1e-3 : precision == DType.BF16 ? 3e-3 : 1e-5;
        double t = c.tensorCores() ? half : 1e-5;
        return c.name().equals("chain") ? 3 * t : t;   // several tensor-core layers in a row
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyOpMatchesTheReference(DType precision) {
        requireGpu();
        long seed = Long.getLong("stitch.seed", System.nanoTime());
        CudaBackend cuda = new CudaBackend(precision);
        StringBuilder failures = new StringBuilder();
        for (OpCases.OpCase c : OpCases.all(seed)) {
            float[] want = ReferenceBackend.INSTANCE.toHost(c.run().apply(ReferenceBackend.INSTANCE));
            Tensor out = c.run().apply(cuda);
            float[] got = cuda.toHost(out);
            double num = 0, den = 0;
            boolean finite = got.length == want.length;
            for (int i = 0; finite && i < got.length; i++) {
                finite = Float.isFinite(got[i]);
                num += (double) (got[i] - want[i]) * (got[i] - want[i]);
                den += (double) want[i] * want[i];
            }
            double err = Math.sqrt(num / Math.max(den, 1e-30));
            System.out.printf("%-40s %-5s rel. error %.2e%n", c.name(), precision, err);
            if (!finite || !(err <= tolerance(precision, c)))
                failures.append(String.format("%s: %s (tolerance %.0e)%n", c.name(), finite ? String.format("%.3e", err) : "not finite",
                    tolerance(precision, c)));
        }
        assertTrue(failures.isEmpty(), "cuda-" + precision + " vs reference, seed " + seed + ":\n" + failures);
    }
}
