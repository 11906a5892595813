package dev.stitch.eval.study;

import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.Method;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One steered condition of a study: a setup at one strength (and, for {@code taps: each}, one tap), with its taps
 * resolved against the captured taps. Every arm is generated from the same seeds as the baseline.
 *
 * @param key the arm's short name in image files and score lines ({@code s000}, {@code s001}, ...)
 */
public record Arm(String key, String name, Experiment.Setup setup, List<String> taps, float strength) {

    public boolean singleTap() { return taps.size() == 1; }

    /** The layer group all taps share, or null when they span several. */
    public LayerGroup group() {
        LayerGroup g = LayerGroup.of(taps.get(0));
        for (String t : taps) if (LayerGroup.of(t) != g) return null;
        return g;
    }

    /** What the arm does, in one line (also written into its PNGs). */
    public String describe() {
        Experiment.Setup s = setup;
        return String.format(Locale.ROOT, "%s: %s vectors, %s at %s on %s, window %s, half %s%s%s", name, s.method().cliName,
            s.operator().cliName, fmt(strength), taps.size() == 1 ? taps.get(0) : taps.size() + " taps", s.window(),
            Experiment.lower(s.half()), s.preserveNorm() ? ", norm preserved" : "", s.tokens().all() ? "" : ", tokens " + s.tokens());
    }

    static String fmt(float f) { return f == Math.rint(f) && Math.abs(f) < 1e6 ? Integer.toString((int) f) : Float.toString(f); }

    /**
     * Expands the setups: one arm per strength, per tap for {@code each}. {@code captured} are the captured taps in
     * model order; {@code scores} the layer scores of each method (for top-K).
     */
    static List<Arm> expand(List<Experiment.Setup> setups, List<String> captured, Map<Method, Map<String, LayerScore>> scores) {
        List<Arm> arms = new ArrayList<>();
        for (int i = 0; i < setups.size(); i++) {
            Experiment.Setup s = setups.get(i);
            String where = "setups[" + i + "].taps";
            List<List<String>> tapSets = new ArrayList<>();
            switch (s.scope()) {
                case TAP, LIST -> {
                    for (String t : s.taps())
                        if (!captured.contains(t))
                            throw new UserError(where + ": tap '" + t + "' is not among the captured taps (capture.taps); captured: "
                                + abbreviate(captured));
                    tapSets.add(s.taps());
                }
                case GROUP -> {
                    List<String> in = captured.stream().filter(t -> LayerGroup.of(t) == s.group()).toList();
                    if (in.isEmpty()) throw new UserError(where + ": no captured tap is in the " + s.group().label + " group (capture.taps)");
                    tapSets.add(in);
                }
                case ALL -> tapSets.add(captured);
                case TOP_K -> {
                    if (s.k() > captured.size())
                        throw new UserError(where + ": top-" + s.k() + " but only " + captured.size() + " taps are captured");
                    Map<String, LayerScore> sc = scores.get(s.method());
                    tapSets.add(captured.stream().sorted(Comparator.comparingDouble((String t) -> -sc.get(t).score())).limit(s.k())
                        .sorted(Comparator.comparingInt(captured::indexOf)).toList());
                }
                case EACH -> captured.forEach(t -> tapSets.add(List.of(t)));
            }
            for (List<String> taps : tapSets)
                for (float strength : s.strengths()) {
                    String name = s.name() + (s.scope() == Experiment.Scope.EACH ? "[" + taps.get(0) + "]" : "") + "@" + fmt(strength);
                    arms.add(new Arm(String.format(Locale.ROOT, "s%03d", arms.size()), name, s, List.copyOf(taps), strength));
                }
        }
        return arms;
    }

    private static String abbreviate(List<String> taps) {
        return taps.size() <= 6 ? String.join(", ", taps) : String.join(", ", taps.subList(0, 6)) + " and " + (taps.size() - 6) + " more";
    }
}
