package dev.stitch.kernels.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * The real device, through JCuda's driver API only (libcuda.so.1; no runtime library, no cuBLAS). One per process:
 * the device's primary context, one blocking stream, our modules loaded on first use. This is the only class that
 * touches JCuda, and nothing loads it before a CUDA backend is asked for, so a JVM without CUDA never loads a native
 * library.
 */
final class CudaDriver implements Driver {
    private static Object shared;   // the CudaDriver, or the reason there is none

    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final String name;
    private final int major, minor, maxShared;
    private final long totalMemory;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<Kernel, CUfunction> functions = new EnumMap<>(Kernel.class);
    private final Map<Kernel, Integer> sharedOptIn = new EnumMap<>(Kernel.class);
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    /** The process's driver; throws IllegalStateException with the reason when there is no usable GPU. */
    static synchronized CudaDriver shared() {
        if (shared == null) {
            try {
                shared = new CudaDriver();
            } catch (Throwable t) {   // UnsatisfiedLinkError (no libcuda.so.1 / natives), CudaException, ...
                shared = reason(t);
            }
        }
        if (shared instanceof CudaDriver d) return d;
        throw new IllegalStateException((String) shared);
    }

    private static String reason(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
        if (t instanceof UnsatisfiedLinkError || t instanceof NoClassDefFoundError || t instanceof ExceptionInInitializerError)
            return "the CUDA driver library (libcuda.so.1) or JCuda's native library could not be loaded: " + m;
        return m;
    }

    private CudaDriver() {
        if (!KernelImages.built())
            throw new IllegalStateException("this build has no CUDA kernels (nvcc was not found when the kernels jar was built)");
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] v = new int[1];
        cuDeviceGetCount(v);
        int ordinal = Integer.getInteger("stitch.cuda.device", 0);
        if (v[0] <= ordinal) throw new IllegalStateException("no CUDA device " + ordinal + " (" + v[0] + " found)");
        CUdevice device = new CUdevice();
        cuDeviceGet(device, ordinal);
        major = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        byte[] nameBytes = new byte[256];
        cuDeviceGetName(nameBytes, nameBytes.length, device);
        String n = new String(nameBytes, StandardCharsets.US_ASCII);
        name = n.substring(0, Math.max(0, n.indexOf(0) < 0 ? n.length() : n.indexOf(0))).trim();
        if (major < 8)
            throw new IllegalStateException(name + " has compute capability " + major + "." + minor
                + "; the kernels need 8.0 or newer (mma.sync bf16, cp.async)");
        maxShared = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] mem = new long[1];
        cuDeviceTotalMem(mem, device);
        totalMemory = mem[0];
        cuDevicePrimaryCtxRetain(context, device);
        makeCurrent();
        cuStreamCreate(stream, 0);   // a blocking stream: synchronous copies on the legacy stream wait for it
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attribute, device);
        return v[0];
    }

    /** The context must be current on whichever thread calls the driver; set it once per thread. */
    private void makeCurrent() {
        if (!current.get()) {
            cuCtxSetCurrent(context);
            current.set(true);
        }
    }

    @Override public String deviceName() { return name + " (sm_" + major + minor + ")"; }

    @Override public long totalMemory() { return totalMemory; }

    @Override public int maxSharedMemoryPerBlock() { return maxShared; }

    @Override
    public Object alloc(long bytes) throws OutOfMemory {
        makeCurrent();
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, bytes);
        } catch (CudaException e) {
            if (e.getMessage() != null && e.getMessage().contains(CUresult.stringFor(CUresult.CUDA_ERROR_OUT_OF_MEMORY)))
                throw new OutOfMemory(e.getMessage());
            throw e;
        }
        return p;
    }

    @Override
    public void free(Object handle) {
        makeCurrent();
        cuMemFree((CUdeviceptr) handle);
    }

    // Synchronous copies from pageable Java memory: they run on the legacy stream, which orders them after (and
    // before) the work of our blocking stream.
    @Override
    public void upload(Object dst, float[] src) {
        makeCurrent();
        cuMemcpyHtoD((CUdeviceptr) dst, Pointer.to(src), (long) src.length * Float.BYTES);
    }

    @Override
    public void upload(Object dst, int[] src) {
        makeCurrent();
        cuMemcpyHtoD((CUdeviceptr) dst, Pointer.to(src), (long) src.length * Integer.BYTES);
    }

    @Override
    public void upload(Object dst, ByteBuffer src) {
        makeCurrent();
        cuMemcpyHtoD((CUdeviceptr) dst, Pointer.to(src), src.remaining());
    }

    @Override
    public void download(Object src, float[] dst) {
        makeCurrent();
        cuMemcpyDtoH(Pointer.to(dst), (CUdeviceptr) src, (long) dst.length * Float.BYTES);
    }

    @Override
    public void zero(Object dst, long bytes) {
        makeCurrent();
        cuMemsetD8Async((CUdeviceptr) dst, (byte) 0, bytes, stream);
    }

    @Override
    public void launch(Kernel k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object[] args) {
        makeCurrent();
        CUfunction f = function(k, sharedBytes);
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case null -> Pointer.to(new CUdeviceptr());
                case DeviceStorage s -> Pointer.to((CUdeviceptr) s.handle);
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
        }
        cuLaunchKernel(f, gx, gy, gz, bx, by, bz, sharedBytes, stream, Pointer.to(params), null);
    }

    private synchronized CUfunction function(Kernel k, int sharedBytes) {
        CUfunction f = functions.get(k);
        if (f == null) {
            CUmodule m = modules.get(k.module);
            if (m == null) {
                m = new CUmodule();
                cuModuleLoadData(m, KernelImages.read(k.module, KernelImages.imageFor(major, minor)));
                modules.put(k.module, m);
            }
            f = new CUfunction();
            cuModuleGetFunction(f, m, k.entry);
            functions.put(k, f);
        }
        // Above 48 KiB a block's dynamic shared memory must be opted in to, per function.
        if (sharedBytes > 48 * 1024 && sharedOptIn.getOrDefault(k, 0) < sharedBytes) {
            cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
            sharedOptIn.put(k, sharedBytes);
        }
        return f;
    }

    @Override
    public void synchronize() {
        makeCurrent();
        cuStreamSynchronize(stream);
    }

    @Override
    public double timeMillis(Runnable queue) {
        makeCurrent();
        CUevent start = new CUevent(), end = new CUevent();
        cuEventCreate(start, 0);
        cuEventCreate(end, 0);
        try {
            cuEventRecord(start, stream);
            queue.run();
            cuEventRecord(end, stream);
            cuEventSynchronize(end);
            float[] ms = new float[1];
            cuEventElapsedTime(ms, start, end);
            return ms[0];
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(end);
        }
    }
}
