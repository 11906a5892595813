package dev.stitch.cli;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.TimedBackend;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * {@code stitch unet-forward} (hidden): one UNet call on given inputs, timed, for the side-by-side comparison with
 * PyTorch ({@code benchmarks/compare_unet_torch.py}). The first call also packs the weights, so it is reported apart.
 */
@Command(name = "unet-forward", hidden = true, description = "Time UNet forward passes on the inputs of a .safetensors file.")
final class UNetForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|ID", description = "diffusers model folder or Hub id in the cache (its unet/ is used)")
    Path model;

    @Option(names = "--inputs", required = true, paramLabel = "F.safetensors", description = "tensors sample [B,C,H,W], timestep [1] or [B], encoder_hidden_states [B,L,D]")
    Path inputs;

    @Option(names = "--out", paramLabel = "F.safetensors", description = "write the output as tensor 'out'")
    Path out;

    @Option(names = "--repeat", defaultValue = "1", description = "timed calls after the first (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--device", defaultValue = "cpu", description = "backend (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--profile", description = "print where the timed calls spent their time, per op kind (host backends)")
    boolean profile;

    @Override
    public Integer call() {
        if (repeat < 0) throw new UserError("--repeat " + repeat + ": must be >= 0");
        SafeTensors in = SafeTensors.open(inputs);
        for (String name : new String[] {"sample", "timestep", "encoder_hidden_states"})
            if (!in.contains(name)) throw new UserError(inputs + ": no tensor '" + name + "' (found " + in.names() + ")");
        Backend ops = Devices.backend(device);
        if (profile && ops.name().startsWith("cuda")) throw new UserError("--profile times host backends only (a GPU's ops return before they finish)");
        TimedBackend timed = profile ? new TimedBackend(ops) : null;
        if (timed != null) ops = timed;
        UNet2DConditionModel unet = UNet2DConditionModel.load(Models.locate(model).resolve("unet"));
        int[] shape = in.entry("sample").intShape();
        float[] t = in.floats("timestep");
        if (t.length == 1) {
            t = new float[shape[0]];
            Arrays.fill(t, in.floats("timestep")[0]);
        }
        Tensor sample = ops.fromHost(in.floats("sample"), shape);
        Tensor context = ops.fromHost(in.floats("encoder_hidden_states"), in.entry("encoder_hidden_states").intShape());
        Ctx c = new Ctx(ops);

        long t0 = System.nanoTime(), cpu0 = cpuNanos();
        Tensor y = unet.forward(c, sample, t, context);
        float[] result = ops.toHost(y).clone();
        System.out.printf("first call (packs weights): %.3f s (cpu %.3f s)%n", (System.nanoTime() - t0) / 1e9, (cpuNanos() - cpu0) / 1e9);
        double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
        if (timed != null && repeat > 0) timed.reset();   // the table covers the timed calls, not the packing one
        for (int i = 0; i < repeat; i++) {
            t0 = System.nanoTime();
            cpu0 = cpuNanos();
            ops.toHost(unet.forward(c, sample, t, context));
            double s = (System.nanoTime() - t0) / 1e9, cpu = (cpuNanos() - cpu0) / 1e9;
            best = Math.min(best, s);
            bestCpu = Math.min(bestCpu, cpu);
            System.out.printf("call %d: %.3f s (cpu %.3f s)%n", i + 1, s, cpu);
        }
        if (repeat > 0) System.out.printf("best: %.3f s, cpu %.3f s (%s backend, %s)%n", best, bestCpu, ops.name(), threads(ops));
        if (timed != null)
            System.out.print((repeat > 0 ? "the " + repeat + " timed call(s)" : "the first call") + ", per op kind (seconds summed over them):\n" + timed.table());
        if (out != null) new SafeTensorsWriter().add("out", Tensor.of(result, y.shape())).write(out);
        return 0;
    }

    /** CPU time of the whole process (all threads), which other work on a shared machine does not inflate much. */
    private static long cpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : 0;
    }

    private static String threads(Backend ops) {
        if (ops instanceof TimedBackend t) ops = t.inner();
        return ops instanceof dev.stitch.kernels.cpu.CpuBackend cpu ? cpu.threads() + " threads" : "";
    }
}
