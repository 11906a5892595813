package dev.stitch.kernels.cuda;

import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host half of the CUDA backend, without a GPU: every op in every precision runs against a recording driver,
 * which checks each launch's argument kinds (against {@link Kernel}'s letters, themselves checked against the PTX by
 * {@link CudaKernelImagesTest}), grid and block limits, shared memory, and that pointers refer to live blocks.
 * Output shapes must match the reference backend's, and every kernel must be launched by some op.
 */
class CudaLaunchTest {
    @Test
    void everyOpLaunchesValidKernelsInEveryPrecision() {
        RecordingDriver driver = new RecordingDriver();
        for (DType precision : DType.values()) {
            CudaBackend cuda = new CudaBackend(driver, precision);
            for (OpCases.OpCase c : OpCases.all(1)) {
                Tensor want = c.run().apply(ReferenceBackend.INSTANCE);
                Tensor got = c.run().apply(cuda);
                assertArrayEquals(want.shape(), got.shape(), c.name() + " " + precision + ": shape");
                assertEquals(want.numel(), cuda.toHost(got).length, c.name() + " " + precision + ": host copy length");
            }
        }
        assertTrue(driver.problems.isEmpty(), () -> String.join("\n", driver.problems));
        Set<Kernel> never = EnumSet.complementOf(EnumSet.copyOf(driver.launched));
        // Casts from a device tensor in a half type (no op makes one) or f32 → f32 padding (the f32 mode never pads).
        never.removeAll(EnumSet.of(Kernel.CAST_F16_BF16, Kernel.CAST_BF16_F16, Kernel.CAST_F16_F16, Kernel.CAST_BF16_BF16,
            Kernel.CAST_F16_F32, Kernel.CAST_BF16_F32, Kernel.CAST_F32_F32));
        assertTrue(never.isEmpty(), "kernels no op launched: " + never);
    }

    @Test
    void halfPrecisionRunsLinearAndConvOnTensorCores() {
        RecordingDriver driver = new RecordingDriver();
        CudaBackend bf16 = new CudaBackend(driver, DType.BF16);
        bf16.linear(Tensor.of(new float[64], 2, 32), Tensor.of(new float[32 * 8], 8, 32), null, dev.stitch.kernels.Activation.NONE);
        bf16.conv2d(Tensor.of(new float[2 * 9], 1, 2, 3, 3), Tensor.of(new float[4 * 2 * 9], 4, 2, 3, 3), null, 1, 1);
        assertEquals(EnumSet.of(Kernel.GEMM_TC_BF16, Kernel.CONV_TC_BF16, Kernel.CAST_F32_BF16),
            driver.launched);
    }

    @Test
    void launchWithWrongArgumentKindsIsRefused() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> Kernel.SILU.check(new Object[] {null, null, 5}));   // an int where a 64-bit count is expected
        assertTrue(e.getMessage().contains("silu_f32"), e.getMessage());
    }

    @Test
    void sizeClassesWasteLessThanAQuarter() {
        for (long b : new long[] {1, 255, 256, 4097, 1 << 20, (1 << 20) + 1, 3_000_000_001L}) {
            long c = DeviceMemory.sizeClass(b);
            assertTrue(c >= b && (b <= 4096 ? c - b < 256 : c - b <= b / 4), b + " -> " + c);
        }
        assertEquals(DeviceMemory.sizeClass(5000), DeviceMemory.sizeClass(5001));
    }

    @Test
    void releasedBlocksAreReused() {
        RecordingDriver driver = new RecordingDriver();
        DeviceMemory memory = new DeviceMemory(driver);
        DeviceStorage a = memory.take(DType.F32, 1000);
        Object handle = a.handle;
        a.close();
        assertEquals(handle, memory.take(DType.F32, 990).handle);
        assertFalse(handle.equals(memory.take(DType.F32, 990).handle));
        memory.trim();
        assertEquals(0, memory.cachedBytes());
        assertTrue(driver.problems.isEmpty(), () -> String.join("\n", driver.problems));
    }

    @Test
    void availabilityNeverThrows() {
        boolean available = CudaBackend.isAvailable();
        if (!available) assertFalse(CudaBackend.unavailableReason().isBlank());
        assertEquals(available, CudaBackend.isAvailable(), "the answer is stable: " + Arrays.toString(new Object[] {CudaBackend.unavailableReason()}));
    }
}
