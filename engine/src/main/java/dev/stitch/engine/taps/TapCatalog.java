package dev.stitch.engine.taps;

import dev.stitch.engine.Ctx;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The taps of a model, in call order, with each one's layout and shape: recorded by running a forward pass with a
 * recording {@link Taps} (with {@link ShapeBackend} that costs nothing). Patterns are checked against it, so that
 * a mistyped name is an error that lists the names meant, not a trace that silently records nothing.
 */
public final class TapCatalog {
    /**
     * One tap: its name, layout and the shape of its value in the recorded call, and {@code aliasOf}, the first tap
     * that received the very same tensor (a block's output is its last layer's output: {@code unet.mid_block} is
     * {@code unet.mid_block.resnets.1}), or null. Editing both names would edit that tensor twice.
     */
    public record Entry(String name, TapLayout layout, int[] shape, String aliasOf) {
        public Entry {
            shape = shape.clone();
        }

        public Entry(String name, TapLayout layout, int[] shape) { this(name, layout, shape, null); }

        @Override public int[] shape() { return shape.clone(); }

        /** The size of the channel axis, where steering vectors live. */
        public int channels() { return shape[layout.channelAxis]; }
    }

    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    private TapCatalog(List<Entry> entries) {
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : entries) m.putIfAbsent(e.name(), e);
        this.byName = Collections.unmodifiableMap(m);
        this.entries = List.copyOf(m.values());
    }

    public static TapCatalog of(List<Entry> entries) { return new TapCatalog(entries); }

    /**
     * Runs {@code forward} with taps that record every name once (its first call) and returns them in call order.
     * Pass {@link ShapeBackend#INSTANCE} to enumerate a full-size model without computing anything.
     */
    public static TapCatalog record(Backend ops, Consumer<Ctx> forward) {
        List<Entry> seen = new ArrayList<>();
        Map<Tensor, String> firstName = new IdentityHashMap<>();   // the same object twice: no op ran between the taps
        forward.accept(new Ctx(ops, (name, layout, value, call) -> {
            String first = firstName.putIfAbsent(value, name);
            seen.add(new Entry(name, layout, value.shape(), first == null || first.equals(name) ? null : first));
            return value;
        }));
        return new TapCatalog(seen);
    }

    /** This catalog followed by {@code other}'s taps (a text encoder, then a UNet, then a VAE). */
    public TapCatalog plus(TapCatalog other) {
        List<Entry> all = new ArrayList<>(entries);
        all.addAll(other.entries);
        return new TapCatalog(all);
    }

    public List<Entry> entries() { return entries; }

    public List<String> names() { return List.copyOf(byName.keySet()); }

    public boolean contains(String name) { return byName.containsKey(name); }

    /** The other names of the tensor {@code name} taps (see {@link Entry#aliasOf}), in call order; empty if none. */
    public List<String> aliases(String name) {
        Entry e = byName.get(name);
        if (e == null) return List.of();
        String root = e.aliasOf() != null ? e.aliasOf() : name;
        List<String> out = new ArrayList<>();
        if (!root.equals(name) && !byName.containsKey(root)) out.add(root);   // a catalog filtered to some taps still names it
        entries.stream().filter(x -> !x.name().equals(name) && (x.name().equals(root) || root.equals(x.aliasOf()))).forEach(x -> out.add(x.name()));
        return out;
    }

    /** The entry for {@code name}, or null. */
    public Entry entry(String name) { return byName.get(name); }

    /**
     * The taps {@code pattern} selects, in call order. Every glob of the pattern must match at least one tap: an
     * unknown name or a glob that matches nothing is a {@link UserError} listing up to five close names.
     */
    public List<String> resolve(TapPattern pattern) {
        for (String g : pattern.globs()) {
            boolean any = false;
            for (String n : byName.keySet()) if (TapPattern.globMatches(g, n)) { any = true; break; }
            if (!any) {
                String what = TapPattern.isWildcard(g) ? "tap pattern '" + g + "' matches no tap" : "unknown tap '" + g + "'";
                List<String> near = closest(g, 5);
                throw new UserError(what + (near.isEmpty() ? "" : "; closest: " + String.join(", ", near))
                    + " (`stitch taps` lists them all)");
            }
        }
        return byName.keySet().stream().filter(pattern::matches).toList();
    }

    public List<String> resolve(String pattern) { return resolve(TapPattern.of(pattern)); }

    /**
     * Up to {@code k} names nearest to {@code glob}: fewest edits (wildcards free), then the longest common prefix,
     * then call order.
     */
    public List<String> closest(String glob, int k) {
        record Scored(String name, int distance, int prefix, int order) {}
        List<Scored> s = new ArrayList<>();
        int i = 0;
        for (String n : byName.keySet()) s.add(new Scored(n, TapPattern.distance(glob, n), commonPrefix(glob, n), i++));
        s.sort(Comparator.comparingInt(Scored::distance).thenComparing(Comparator.comparingInt(Scored::prefix).reversed())
            .thenComparingInt(Scored::order));
        return s.stream().limit(k).map(Scored::name).toList();
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length()), i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    /** The table {@code stitch taps} prints: name, layout, channels, shape, and the tap's other names. */
    public String table() {
        int w = Math.max(3, entries.stream().mapToInt(e -> e.name().length()).max().orElse(0));
        int sw = Math.max(5, entries.stream().mapToInt(e -> Arrays.toString(e.shape()).length()).max().orElse(0));
        StringBuilder s = new StringBuilder();
        s.append(String.format("%-" + w + "s  %-6s  %8s  %-" + sw + "s  %s%n", "tap", "layout", "channels", "shape", "same tensor as").stripTrailing())
            .append(System.lineSeparator());
        for (Entry e : entries)
            s.append(String.format("%-" + w + "s  %-6s  %8d  %-" + sw + "s  %s", e.name(), e.layout(), e.channels(), Arrays.toString(e.shape()),
                String.join(", ", aliases(e.name()))).stripTrailing()).append(System.lineSeparator());
        s.append(entries.size()).append(" taps").append(System.lineSeparator());
        return s.toString();
    }
}
