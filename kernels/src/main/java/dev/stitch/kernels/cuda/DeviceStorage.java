package dev.stitch.kernels.cuda;

import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;

import java.lang.ref.Cleaner;

/**
 * A tensor's numbers in device memory: a block from the backend's caching allocator, in {@link #dtype}. The block
 * goes back to the allocator when the tensor is closed or, failing that, when the storage becomes unreachable
 * (every op allocates its output, and the engine does not close activations). Reuse is safe because all work runs in
 * order on one stream: a kernel queued later cannot overtake one still reading the block.
 */
final class DeviceStorage implements Tensor.Storage, AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    final DeviceMemory memory;
    final Object handle;
    final long capacity;
    final DType dtype;
    final long count;
    private final Cleaner.Cleanable cleanable;

    DeviceStorage(DeviceMemory memory, Object handle, long capacity, DType dtype, long count) {
        this.memory = memory;
        this.handle = handle;
        this.capacity = capacity;
        this.dtype = dtype;
        this.count = count;
        // The action must not capture this storage, or it would never become unreachable.
        this.cleanable = CLEANER.register(this, () -> memory.give(handle, capacity));
    }

    long bytes() { return count * dtype.bytes; }

    @Override
    public void close() { cleanable.clean(); }
}
