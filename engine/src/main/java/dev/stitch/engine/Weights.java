package dev.stitch.engine;

import dev.stitch.kernels.UserError;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Scoped access to one component's weights by their diffusers names, in the manner of candle's VarBuilder:
 * {@code w.pp("down_blocks").pp(0).get("conv1.weight", 320, 320, 3, 3)}. The scope path is also the module's tap
 * name, so fields and taps both read as diffusers' keys. Every lookup checks the shape and names what was expected.
 */
public final class Weights {
    private final String component;      // "unet", "vae", "text_encoder"
    private final String origin;         // file or folder the tensors come from, for error messages
    private final Function<String, Tensor> source;
    private final Set<String> names;
    private final String prefix;         // "" or "down_blocks.0."
    private final Set<String> used;      // shared by all scopes: names fetched so far, to find tensors a model ignored
    private final RecordingMap created;  // random mode only, else null
    private final List<SafeTensors> files; // the mapped files behind the tensors (empty for weights in memory)

    private Weights(String component, String origin, Function<String, Tensor> source, Set<String> names, String prefix,
                    Set<String> used, RecordingMap created, List<SafeTensors> files) {
        this.component = component;
        this.origin = origin;
        this.source = source;
        this.names = names;
        this.prefix = prefix;
        this.used = used;
        this.created = created;
        this.files = files;
    }

    /** Weights read from safetensors files (sharded components pass several). */
    public static Weights of(String component, SafeTensors... files) {
        Map<String, SafeTensors> byName = new LinkedHashMap<>();
        for (SafeTensors f : files)
            for (String n : f.names())
                if (byName.putIfAbsent(n, f) != null) throw new UserError(f.file() + ": tensor '" + n + "' also appears in " + byName.get(n).file());
        String origin = files.length == 1 ? files[0].file().toString() : files[0].file().getParent().toString();
        return new Weights(component, origin, n -> byName.get(n).tensor(n), byName.keySet(), "", ConcurrentHashMap.newKeySet(), null,
            List.of(files));
    }

    /** Weights held in memory (converted checkpoints, built-in models, tests). */
    public static Weights of(String component, String origin, Map<String, Tensor> tensors) {
        Map<String, Tensor> copy = new LinkedHashMap<>(tensors);
        return new Weights(component, origin, copy::get, copy.keySet(), "", ConcurrentHashMap.newKeySet(), null, List.of());
    }

    /**
     * Weights invented on request: {@code get(name, shape)} records the name and shape and returns a placeholder
     * whose values are never read, so building a model over these enumerates exactly the tensors that model needs.
     * {@link RandomInit} then makes the values one tensor at a time when the model is written (full-size models do
     * not fit in memory twice). {@code shapes} collects what was asked for, in order.
     */
    public static Weights random(String component, Map<String, int[]> shapes) {
        Map<String, Tensor> created = new LinkedHashMap<>();
        return new Weights(component, "random " + component, created::get, created.keySet(), "", ConcurrentHashMap.newKeySet(),
            new RecordingMap(created, shapes), List.of());
    }

    /** Keeps the placeholders for lookups and the shapes for the writer. */
    private record RecordingMap(Map<String, Tensor> tensors, Map<String, int[]> shapes) {}

    /** A narrower scope: {@code pp("attn1")}. */
    public Weights pp(String name) { return new Weights(component, origin, source, names, prefix + name + ".", used, created, files); }

    public Weights pp(int index) { return pp(Integer.toString(index)); }

    /** The scope path in diffusers' module tree, e.g. {@code down_blocks.0.resnets.1}. */
    public String path() { return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1); }

    /** The tap name of the module at this scope: component prefix + module path. */
    public String tapName() { return prefix.isEmpty() ? component : component + "." + path(); }

    public String component() { return component; }

    /** Where the tensors come from (file or folder), for error messages. */
    public String origin() { return origin; }

    public boolean has(String name) { return names.contains(prefix + name); }

    /** All full names (for listing unused or unknown tensors). */
    public Set<String> allNames() { return new TreeSet<>(names); }

    /** The tensor {@code name} in this scope, which must have exactly {@code shape}. */
    public Tensor get(String name, int... shape) {
        String full = prefix + name;
        if (created != null && !names.contains(full)) {
            if (shape.length == 0) throw new IllegalStateException("random weights need the shape of '" + full + "'");
            created.tensors().put(full, Tensor.wrap(RandomInit.PLACEHOLDER, dev.stitch.kernels.DType.F32, shape));
            created.shapes().put(full, shape.clone());
        }
        if (!names.contains(full)) throw new UserError(origin + ": missing tensor '" + full + "' (" + component + ")");
        Tensor t = source.apply(full);
        used.add(full);
        if (shape.length > 0 && !Arrays.equals(t.shape(), shape))
            throw new UserError(origin + ": tensor '" + full + "' has shape " + Arrays.toString(t.shape()) + ", expected "
                + Arrays.toString(shape));
        return t;
    }

    /**
     * Drops the pages of the mapped weight files from this process's memory (the operating system keeps them in its
     * file cache): a model part that is done for now, such as the text encoder once the prompts are encoded, stops
     * counting towards the process's memory. The next read maps them back, from that cache if they are still there.
     * Weights held in memory are kept.
     */
    public void unloadPages() {
        for (SafeTensors f : files) f.unloadPages();
    }

    /** The tensor if present (optional biases), else null. */
    public Tensor getOptional(String name, int... shape) { return has(name) ? get(name, shape) : null; }

    /** Names present that no {@link #get} has asked for yet, sorted. */
    public Set<String> unused() {
        Set<String> s = new TreeSet<>(names);
        s.removeAll(used);
        return s;
    }

    /**
     * Called once a model is built: a tensor it never asked for means the file has another layout or the config does
     * not describe it, which would otherwise go unnoticed.
     */
    public void requireAllUsed() {
        Set<String> left = unused();
        if (left.isEmpty()) return;
        String shown = String.join(", ", left.stream().limit(8).toList()) + (left.size() > 8 ? ", ..." : "");
        throw new UserError(origin + ": " + left.size() + " tensor(s) not used by the " + component
            + " (another layout, or a config that does not match the weights?): " + shown);
    }
}
