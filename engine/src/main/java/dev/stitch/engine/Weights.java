package dev.stitch.engine;

import dev.stitch.kernels.UserError;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
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
    private final Set<String> used;      // shared by all scopes: full names read so far
    private final String prefix;         // "" or "down_blocks.0."

    private Weights(String component, String origin, Function<String, Tensor> source, Set<String> names, Set<String> used,
                    String prefix) {
        this.component = component;
        this.origin = origin;
        this.source = source;
        this.names = names;
        this.used = used;
        this.prefix = prefix;
    }

    /** Weights read from safetensors files (sharded components pass several). */
    public static Weights of(String component, SafeTensors... files) {
        Map<String, SafeTensors> byName = new LinkedHashMap<>();
        for (SafeTensors f : files)
            for (String n : f.names())
                if (byName.putIfAbsent(n, f) != null) throw new UserError(f.file() + ": tensor '" + n + "' also appears in " + byName.get(n).file());
        String origin = files.length == 1 ? files[0].file().toString() : files[0].file().getParent().toString();
        return new Weights(component, origin, n -> byName.get(n).tensor(n), byName.keySet(), ConcurrentHashMap.newKeySet(), "");
    }

    /** Weights held in memory (converted checkpoints, built-in models, tests). */
    public static Weights of(String component, String origin, Map<String, Tensor> tensors) {
        Map<String, Tensor> copy = new LinkedHashMap<>(tensors);
        return new Weights(component, origin, copy::get, copy.keySet(), ConcurrentHashMap.newKeySet(), "");
    }

    /** A narrower scope: {@code pp("attn1")}. */
    public Weights pp(String name) { return new Weights(component, origin, source, names, used, prefix + name + "."); }

    public Weights pp(int index) { return pp(Integer.toString(index)); }

    /** The scope path in diffusers' module tree, e.g. {@code down_blocks.0.resnets.1}. */
    public String path() { return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1); }

    /** The tap name of the module at this scope: component prefix + module path. */
    public String tapName() { return prefix.isEmpty() ? component : component + "." + path(); }

    public String component() { return component; }

    public boolean has(String name) { return names.contains(prefix + name); }

    /** All full names (for listing unused or unknown tensors). */
    public Set<String> allNames() { return new TreeSet<>(names); }

    /** Where the tensors come from (file or folder), for error messages. */
    public String origin() { return origin; }

    /** Full names never read through {@link #get} by any scope: after building a model, tensors it does not know. */
    public Set<String> unused() {
        Set<String> u = new TreeSet<>(names);
        u.removeAll(used);
        return u;
    }

    /** The tensor {@code name} in this scope, which must have exactly {@code shape}. */
    public Tensor get(String name, int... shape) {
        String full = prefix + name;
        if (!names.contains(full)) throw new UserError(origin + ": missing tensor '" + full + "' (" + component + ")");
        Tensor t = source.apply(full);
        used.add(full);
        if (shape.length > 0 && !Arrays.equals(t.shape(), shape))
            throw new UserError(origin + ": tensor '" + full + "' has shape " + Arrays.toString(t.shape()) + ", expected "
                + Arrays.toString(shape));
        return t;
    }

    /** The tensor if present (optional biases), else null. */
    public Tensor getOptional(String name, int... shape) { return has(name) ? get(name, shape) : null; }
}
