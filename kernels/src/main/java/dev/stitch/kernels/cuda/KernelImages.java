package dev.stitch.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The compiled kernels embedded in the jar (built by {@code src/main/cuda/build.sh}): per {@code .cu} file a cubin
 * for sm_80 and for sm_90, and PTX for compute_80 that the driver compiles for any newer GPU.
 */
final class KernelImages {
    static final String FOLDER = "/dev/stitch/kernels/cuda/";
    static final String SM80 = "sm_80.cubin", SM90 = "sm_90.cubin", PTX = "compute_80.ptx";

    private KernelImages() {}

    /** True when the build that made this jar had nvcc (it leaves a BUILD file beside the images). */
    static boolean built() { return KernelImages.class.getResource(FOLDER + "BUILD") != null; }

    /**
     * The image to load on a device of compute capability major.minor: sm_80 machine code runs on every 8.x
     * (binary compatible upwards within a major version), sm_90 on 9.0, PTX elsewhere (JIT-compiled once by the driver).
     */
    static String imageFor(int major, int minor) {
        if (major == 8) return SM80;
        if (major == 9 && minor == 0) return SM90;
        return PTX;
    }

    /** The bytes of {@code module.image}; PTX gets the terminating NUL that cuModuleLoadData expects of text. */
    static byte[] read(String module, String image) {
        String name = FOLDER + module + "." + image;
        try (InputStream in = KernelImages.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("kernel image " + name + " is missing from the kernels jar");
            byte[] b = in.readAllBytes();
            if (!image.endsWith(".ptx")) return b;
            byte[] z = new byte[b.length + 1];
            System.arraycopy(b, 0, z, 0, b.length);
            return z;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
