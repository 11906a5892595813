package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Measures what converting a full-size SD2 checkpoint costs in memory (a program, not a unit test: it writes ~8 GB).
 * <pre>
 *   ConvertMemoryProbe make DIR            # DIR/sd2-768-synthetic.safetensors: SD2 shapes, fp16, 2.6 GB
 *   ConvertMemoryProbe make-ckpt DIR       # the same as DIR/sd2-768-synthetic.ckpt (PyTorch zip)
 *   ConvertMemoryProbe convert DIR TOKENIZER fp32|fp16 [ckpt]
 * </pre>
 * Run {@code convert} in a JVM with a small heap (-Xmx256m): it prints the peak resident memory split into anonymous
 * (heap, buffers) and file-backed (the mapped checkpoint's pages, which the kernel can drop at any time).
 */
public final class ConvertMemoryProbe {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        Path file = dir.resolve("sd2-768-synthetic." + (args[0].equals("make-ckpt") || args.length > 4 ? "ckpt" : "safetensors"));
        if (args[0].equals("make-ckpt")) {
            TorchZipWriter w = new TorchZipWriter().lightningWrapper(true);
            Sd2Shapes.checkpoint(file, SafeDType.F16).tensors().values().forEach(w::add);
            long t0 = System.nanoTime();
            w.write(file);
            System.out.printf("wrote %s: %.2f GB in %.1f s%n", file, Files.size(file) / 1e9, (System.nanoTime() - t0) / 1e9);
            return;
        }
        if (args[0].equals("make")) {
            Checkpoint ck = Sd2Shapes.checkpoint(file, SafeDType.F16);
            List<SafeTensorsStreamWriter.Item> items = new ArrayList<>();
            for (StoredTensor t : ck.tensors().values()) items.add(new SafeTensorsStreamWriter.Item(t, SafeDType.F16));
            long t0 = System.nanoTime();
            SafeTensorsStreamWriter.write(file, items, Map.of(), n -> {});
            System.out.printf("wrote %s: %d tensors, %.2f GB in %.1f s%n", file, items.size(), Files.size(file) / 1e9, (System.nanoTime() - t0) / 1e9);
            return;
        }
        Path tokenizer = Path.of(args[2]);
        DType dtype = args[3].equals("fp16") ? DType.F16 : DType.F32;
        Path out = dir.resolve("converted-" + args[3]);
        AtomicFolder.deleteTree(out);
        long[] peak = new long[3];                            // VmHWM, RssAnon, RssFile (kB)
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (true) {
                sample(peak);
                try { Thread.sleep(50); } catch (InterruptedException e) { return; }
            }
        });
        long t0 = System.nanoTime();
        var plan = LdmToDiffusers.plan(file, null, null);
        var w = LdmToDiffusers.write(plan, out, dtype, tokenizer, false, Progress.NONE);
        double secs = (System.nanoTime() - t0) / 1e9;
        sampler.interrupt();
        sample(peak);
        Runtime rt = Runtime.getRuntime();
        System.out.printf("converted %.2f GB checkpoint -> %.2f GB %s in %.1f s (%.0f MB/s written)%n", Files.size(file) / 1e9, w.bytes() / 1e9,
            args[3], secs, w.bytes() / 1e6 / secs);
        System.out.printf("peak RSS (VmHWM) %d MB; peak anonymous %d MB; peak file-backed %d MB; max heap %d MB%n",
            peak[0] / 1024, peak[1] / 1024, peak[2] / 1024, rt.maxMemory() >> 20);
    }

    private static void sample(long[] peak) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] p = line.split("\\s+");
                int i = switch (p[0]) {
                    case "VmHWM:" -> 0;
                    case "RssAnon:" -> 1;
                    case "RssFile:" -> 2;
                    default -> -1;
                };
                if (i >= 0) peak[i] = Math.max(peak[i], Long.parseLong(p[1]));
            }
        } catch (IOException ignored) {
            // not Linux: nothing to report
        }
    }
}
