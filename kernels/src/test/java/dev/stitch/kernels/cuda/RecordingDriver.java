package dev.stitch.kernels.cuda;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A driver with no GPU behind it: allocations are numbered, copies are size-checked, launches are checked against
 * the hardware's limits and recorded. Downloads read zeros. Lets the tests run every op's host side without a GPU.
 */
final class RecordingDriver implements Driver {
    static final int MAX_SHARED = 227 * 1024;   // an H100's opt-in limit

    private final Map<Object, Long> live = new HashMap<>();
    private long next = 1;
    final Set<Kernel> launched = EnumSet.noneOf(Kernel.class);
    final List<String> problems = new ArrayList<>();

    @Override public String deviceName() { return "recording driver"; }

    @Override public long totalMemory() { return 80L << 30; }

    @Override public int maxSharedMemoryPerBlock() { return MAX_SHARED; }

    @Override
    public synchronized Object alloc(long bytes) {
        if (bytes <= 0) problems.add("alloc of " + bytes + " bytes");
        Long h = next++;
        live.put(h, bytes);
        return h;
    }

    @Override
    public synchronized void free(Object handle) {
        if (live.remove(handle) == null) problems.add("free of unknown handle " + handle);
    }

    private synchronized void fits(Object handle, long bytes, String what) {
        Long cap = live.get(handle);
        if (cap == null) problems.add(what + " into unknown handle " + handle);
        else if (bytes > cap) problems.add(what + " of " + bytes + " bytes into " + cap);
    }

    @Override public void upload(Object dst, float[] src) { fits(dst, 4L * src.length, "upload"); }

    @Override public void upload(Object dst, int[] src) { fits(dst, 4L * src.length, "upload"); }

    @Override public void upload(Object dst, ByteBuffer src) { fits(dst, src.remaining(), "upload"); }

    @Override public void download(Object src, float[] dst) { fits(src, 4L * dst.length, "download"); }

    @Override public void zero(Object dst, long bytes) { fits(dst, bytes, "zero"); }

    @Override
    public synchronized void launch(Kernel k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object[] args) {
        launched.add(k);
        String at = k.entry + " grid " + gx + "x" + gy + "x" + gz + " block " + bx + "x" + by + "x" + bz;
        if (gx < 1 || gy < 1 || gy > 65535 || gz < 1 || gz > 65535) problems.add(at + ": grid out of range");
        if (bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024) problems.add(at + ": block out of range");
        if (sharedBytes < 0 || sharedBytes > MAX_SHARED) problems.add(at + ": " + sharedBytes + " bytes of shared memory");
        for (Object a : args)
            if (a instanceof DeviceStorage s && !live.containsKey(s.handle)) problems.add(at + ": pointer to a freed or unknown block");
    }

    @Override public void synchronize() {}

    @Override
    public double timeMillis(Runnable queue) {
        queue.run();
        return 0;
    }
}
