package dev.stitch.kernels.cuda;

import dev.stitch.kernels.DType;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator: blocks are rounded up to a size class (four per power of two, so at most 25% is wasted) and
 * kept on a free list per class when released, because cuMemAlloc/cuMemFree synchronise the device and cost far more
 * than the kernels of a denoising step. When the device runs out, it collects garbage (whose tensors' blocks come
 * back through the cleaner), returns the cached blocks to the driver, and tries again.
 */
final class DeviceMemory {
    private final Driver driver;
    private final Map<Long, ArrayDeque<Object>> free = new HashMap<>();
    private long cachedBytes, drivenBytes, freshSinceGc;

    DeviceMemory(Driver driver) { this.driver = driver; }

    static long sizeClass(long bytes) {
        if (bytes <= 4096) return Math.max(256, (bytes + 255) & ~255L);
        long step = Long.highestOneBit(bytes - 1) >> 2;
        return (bytes + step - 1) / step * step;
    }

    /** A storage for {@code count} values of {@code dtype}; its contents are undefined. */
    DeviceStorage take(DType dtype, long count) {
        long cap = sizeClass(Math.max(1, count * dtype.bytes));
        Object h = reuse(cap);
        for (int attempt = 0; h == null; attempt++) {
            try {
                h = driver.alloc(cap);
                noteFresh(cap);
            } catch (Driver.OutOfMemory e) {
                if (attempt == 3)
                    throw new IllegalStateException("CUDA device out of memory: " + cap + " bytes requested, "
                        + drivenBytes + " allocated of " + driver.totalMemory());
                System.gc();   // unreachable tensors give their blocks back through the cleaner
                try { Thread.sleep(20L << attempt); } catch (InterruptedException ie) { Thread.currentThread().interrupt(); }
                h = reuse(cap);
                if (h == null) trim();
            }
        }
        return new DeviceStorage(this, h, cap, dtype, count);
    }

    private synchronized Object reuse(long cap) {
        ArrayDeque<Object> q = free.get(cap);
        Object h = q == null ? null : q.poll();
        if (h != null) cachedBytes -= cap;
        return h;
    }

    private void noteFresh(long cap) {
        boolean collect;
        synchronized (this) {
            drivenBytes += cap;
            freshSinceGc += cap;
            // Past half the device, nudge the collector now and then so dead activations come back before an OOM.
            collect = drivenBytes > driver.totalMemory() / 2 && freshSinceGc > driver.totalMemory() / 8;
            if (collect) freshSinceGc = 0;
        }
        if (collect) System.gc();
    }

    /** Called by the cleaner (any thread) or by close: the block is free for the next take of its class. */
    synchronized void give(Object handle, long cap) {
        free.computeIfAbsent(cap, k -> new ArrayDeque<>()).push(handle);
        cachedBytes += cap;
    }

    /** Returns every cached block to the driver. */
    void trim() {
        Map<Long, ArrayDeque<Object>> drop;
        synchronized (this) {
            drop = new HashMap<>(free);
            free.clear();
            cachedBytes = 0;
        }
        if (drop.isEmpty()) return;
        driver.synchronize();
        long freed = 0;
        for (var e : drop.entrySet())
            for (Object h : e.getValue()) {
                driver.free(h);
                freed += e.getKey();
            }
        synchronized (this) { drivenBytes -= freed; }
    }

    synchronized long cachedBytes() { return cachedBytes; }

    synchronized long allocatedBytes() { return drivenBytes; }
}
