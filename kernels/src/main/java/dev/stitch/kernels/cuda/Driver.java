package dev.stitch.kernels.cuda;

import java.nio.ByteBuffer;

/**
 * What the backend needs from a CUDA device. {@link CudaDriver} is the real one (JCuda's driver API); tests use a
 * recording stand-in to check every launch's arguments without a GPU. Work is queued in order on one stream;
 * copies to the host wait for it. Memory handles are opaque to everything but the driver that made them.
 */
interface Driver {
    String deviceName();

    long totalMemory();

    /** The largest dynamic shared memory a block may opt in to. */
    int maxSharedMemoryPerBlock();

    /** A fresh device allocation, or {@link OutOfMemory}. */
    Object alloc(long bytes) throws OutOfMemory;

    /** Frees what {@link #alloc} returned, after the work queued so far. */
    void free(Object handle);

    void upload(Object dst, float[] src);

    void upload(Object dst, int[] src);

    /** {@code src} is a direct buffer (a mapped file region). */
    void upload(Object dst, ByteBuffer src);

    void download(Object src, float[] dst);

    void zero(Object dst, long bytes);

    /** Queues {@code k} on the stream; the arguments have passed {@link Kernel#check}. */
    void launch(Kernel k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object[] args);

    /** Waits for all queued work. */
    void synchronize();

    /** Device time of the work {@code queue} puts on the stream, in milliseconds (events around it). */
    double timeMillis(Runnable queue);

    final class OutOfMemory extends Exception {
        OutOfMemory(String message) { super(message, null, false, false); }
    }
}
