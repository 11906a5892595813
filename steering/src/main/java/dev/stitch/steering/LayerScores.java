package dev.stitch.steering;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.steering.plot.ScorePlot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code stitch layers} reports of LayerNavigator's scores (tap → {@link LayerScore}, in call order): a ranked
 * table with the early / middle / late comparison, a plot by depth, and JSON.
 */
public final class LayerScores {
    private LayerScores() {}

    /** The ranked table (the best {@code top}; 0 = all) and the per-group summary. */
    public static String table(Map<String, LayerScore> scores, int top) {
        List<Map.Entry<String, LayerScore>> ranked = ranked(scores);
        int k = top == 0 ? ranked.size() : Math.min(top, ranked.size());
        int w = Math.max(3, ranked.stream().limit(k).mapToInt(e -> e.getKey().length()).max().orElse(3));
        StringBuilder s = new StringBuilder();
        s.append(String.format("%4s  %-" + w + "s  %-6s  %9s  %9s  %9s%n", "rank", "tap", "group", "D", "C", "s"));
        for (int i = 0; i < k; i++) {
            var e = ranked.get(i);
            s.append(String.format(Locale.ROOT, "%4d  %-" + w + "s  %-6s  %9.4f  %9.4f  %9.4f%n", i + 1, e.getKey(),
                LayerGroup.of(e.getKey()).label, e.getValue().discriminability(), e.getValue().consistency(), e.getValue().score()));
        }
        if (k < ranked.size()) s.append(String.format("      ... %d more taps (--top 0 lists all)%n", ranked.size() - k));
        s.append(String.format("%ngroups (UNet early = conv_in, time embedding, down blocks; middle = mid block; late = up blocks, output):%n"));
        s.append(String.format("%-6s  %5s  %9s  %9s  %s%n", "group", "taps", "mean s", "max s", "best tap"));
        for (var g : byGroup(scores).entrySet()) {
            List<Map.Entry<String, LayerScore>> members = g.getValue();
            double mean = members.stream().mapToDouble(e -> e.getValue().score()).average().orElse(Double.NaN);   // sequential: fixed order
            var best = members.stream().max(Comparator.comparingDouble(e -> e.getValue().score())).orElseThrow();
            s.append(String.format(Locale.ROOT, "%-6s  %5d  %9.4f  %9.4f  %s%n", g.getKey().label, members.size(), mean,
                best.getValue().score(), best.getKey()));
        }
        return s.toString();
    }

    /** Taps by score, best first (ties keep call order). */
    public static List<Map.Entry<String, LayerScore>> ranked(Map<String, LayerScore> scores) {
        List<Map.Entry<String, LayerScore>> r = new ArrayList<>(scores.entrySet());
        r.sort(Comparator.comparingDouble((Map.Entry<String, LayerScore> e) -> e.getValue().score()).reversed());
        return r;
    }

    /** The taps of each group that has some, groups in {@link LayerGroup} order, taps in call order. */
    public static Map<LayerGroup, List<Map.Entry<String, LayerScore>>> byGroup(Map<String, LayerScore> scores) {
        Map<LayerGroup, List<Map.Entry<String, LayerScore>>> g = new LinkedHashMap<>();
        for (LayerGroup lg : LayerGroup.values())
            for (var e : scores.entrySet()) if (LayerGroup.of(e.getKey()) == lg) g.computeIfAbsent(lg, x -> new ArrayList<>()).add(e);
        return g;
    }

    /** s, D and C against depth (the taps in call order), the groups shaded and the best tap named. */
    public static RgbImage plot(Map<String, LayerScore> scores, String title) {
        List<ScorePlot.Point> pts = new ArrayList<>();
        scores.forEach((tap, s) -> pts.add(new ScorePlot.Point(tap, LayerGroup.of(tap).label, s.discriminability(), s.consistency())));
        return ScorePlot.draw(title, pts);
    }

    /** {@code [{"tap", "depth", "group", "D", "C", "s"}, ...]} in call order. */
    public static String json(Map<String, LayerScore> scores) {
        ArrayNode arr = new ObjectMapper().createArrayNode();
        int depth = 0;
        for (var e : scores.entrySet()) {
            ObjectNode o = arr.addObject();
            o.put("tap", e.getKey()).put("depth", depth++).put("group", LayerGroup.of(e.getKey()).label)
                .put("D", e.getValue().discriminability()).put("C", e.getValue().consistency()).put("s", e.getValue().score());
        }
        return arr.toPrettyString() + "\n";
    }
}
