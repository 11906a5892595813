package dev.stitch.kernels;

import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {
    @Test
    void namesPickBackends() {
        assertSame(ReferenceBackend.INSTANCE, Backends.byName("reference"));
        assertInstanceOf(CpuBackend.class, Backends.byName("cpu"));
        assertSame(Backends.byName("cpu"), Backends.byName("auto"));
        assertSame(Backends.byName("cpu"), Backends.byName(" CPU "));
    }

    @Test
    void cudaWithoutAGpuAndUnknownNamesAreUserErrors() {
        if (!dev.stitch.kernels.cuda.CudaBackend.isAvailable()) {
            UserError cuda = assertThrows(UserError.class, () -> Backends.byName("cuda"));
            assertTrue(cuda.getMessage().startsWith("device cuda: not available (") && !cuda.getMessage().contains("\n"), cuda.getMessage());
        } else org.junit.jupiter.api.Assertions.assertEquals("cuda-f16", Backends.byName("cuda").name());
        UserError other = assertThrows(UserError.class, () -> Backends.byName("tpu"));
        assertTrue(other.getMessage().contains("'tpu'") && other.getMessage().contains("expected cpu"), other.getMessage());
    }

    @Test
    void threadCountComesFromTheProperty() {
        String old = System.getProperty("stitch.threads");
        try {
            System.setProperty("stitch.threads", "1");
            assertTrue(new CpuBackend().threads() == 1);
            System.setProperty("stitch.threads", "zero");
            UserError e = assertThrows(UserError.class, CpuBackend::new);
            assertTrue(e.getMessage().contains("stitch.threads=zero"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("stitch.threads");
            else System.setProperty("stitch.threads", old);
        }
    }

    @Test
    void aVectorWidthTheKernelsDoNotKnowIsOneLine() {
        String old = System.getProperty("stitch.vectorBits");
        try {
            System.setProperty("stitch.vectorBits", "300");
            UserError e = assertThrows(UserError.class, CpuBackend::new);
            assertTrue(e.getMessage().equals("stitch.vectorBits=300: expected 128, 256 or 512"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("stitch.vectorBits");
            else System.setProperty("stitch.vectorBits", old);
        }
    }
}
