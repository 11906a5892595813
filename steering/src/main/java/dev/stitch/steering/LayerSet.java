package dev.stitch.steering;

import dev.stitch.engine.taps.TapPattern;
import dev.stitch.kernels.ParameterError;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A named group of a steering file's taps, steered together: one row of a {@link Sweep}. Named sets are
 * {@code all}, a {@link LayerGroup} ({@code text}, {@code early}, {@code middle}, {@code late}, {@code vae}),
 * {@code topK} (the K best taps by the file's layer scores), {@code single} (each of the best {@code top} taps
 * alone, one set each) or a glob over the file's taps.
 */
public record LayerSet(String label, List<String> taps) {
    /** What a sweep compares when not told otherwise. */
    public static final List<String> DEFAULTS = List.of("all", "early", "middle", "late");

    public LayerSet {
        taps = List.copyOf(taps);
    }

    /**
     * The sets {@code names} describe, in order. A name that selects none of the file's taps is an error: the caller
     * asked for it by name (errors name the parameter {@code layerSets}, or {@code top} for {@code single}).
     */
    public static List<LayerSet> parse(List<String> names, SteeringFile file, int top) {
        List<LayerSet> sets = new ArrayList<>();
        for (String raw : names) {
            String name = raw.strip();
            if (name.matches("top\\d+")) {
                int k = Integer.parseInt(name.substring(3));
                if (k < 1) throw new ParameterError("layerSets", name, "K must be at least 1");
                sets.add(new LayerSet(name, best(file, k, name)));
            } else if (name.equals("single")) {
                if (top < 1) throw new ParameterError("top", top, "must be at least 1");
                for (String t : best(file, top, name)) sets.add(new LayerSet(t, List.of(t)));
            } else {
                List<String> in = select(name, file);
                if (in.isEmpty()) throw new ParameterError("layerSets", name, isGroup(name)
                    ? "the steering file has no " + name + " taps"
                    : "not all, early, middle, late, text, vae, topK or single, and no tap of the file matches it");
                sets.add(new LayerSet(name, in));
            }
        }
        if (sets.isEmpty()) throw new ParameterError("layerSets", String.join(",", names), "names no layer set");
        return sets;
    }

    /**
     * {@link #DEFAULTS} for this file: {@code all}, then each of early, middle and late that holds some of its taps
     * (a file of mid-block taps alone gets {@code all} and {@code middle}). {@link #skippedDefaults} says which
     * were left out.
     */
    public static List<LayerSet> defaults(SteeringFile file) {
        List<LayerSet> sets = new ArrayList<>();
        for (String name : DEFAULTS) {
            List<String> in = select(name, file);
            if (!in.isEmpty()) sets.add(new LayerSet(name, in));
        }
        return sets;
    }

    /** The default sets {@link #defaults} leaves out for this file, because it has no taps in them. */
    public static List<String> skippedDefaults(SteeringFile file) {
        return DEFAULTS.stream().filter(n -> select(n, file).isEmpty()).toList();
    }

    private static boolean isGroup(String name) {
        for (LayerGroup g : LayerGroup.values()) if (g.label.equals(name)) return true;
        return false;
    }

    /** The file's taps (in call order) in {@code all}, a group, or a glob. */
    private static List<String> select(String name, SteeringFile file) {
        List<String> taps = List.copyOf(file.taps().keySet());
        if (name.equals("all")) return taps;
        if (isGroup(name)) {
            LayerGroup g = LayerGroup.parse(name);
            return taps.stream().filter(t -> LayerGroup.of(t) == g).toList();
        }
        TapPattern p = TapPattern.of(name);
        return taps.stream().filter(p::matches).toList();
    }

    /** The k best taps by the file's layer scores (ties: call order), listed in call order. */
    private static List<String> best(SteeringFile file, int k, String name) {
        Map<String, LayerScore> scores = file.layerScores();
        if (scores.isEmpty()) throw new ParameterError("layerSets", name, "the steering file has no layer scores (extract it with `stitch extract`)");
        List<String> ranked = scores.entrySet().stream().filter(e -> file.taps().containsKey(e.getKey()))
            .sorted(Comparator.comparingDouble((Map.Entry<String, LayerScore> e) -> e.getValue().score()).reversed())
            .limit(k).map(Map.Entry::getKey).toList();
        return file.taps().keySet().stream().filter(ranked::contains).toList();
    }
}
