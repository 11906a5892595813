package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.eval.PromptPairs;
import dev.stitch.eval.plot.ScorePlot;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.PairedActivations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code stitch layers}: LayerNavigator's score per tap (discriminability D + consistency C) from the same pooled
 * activations extraction reads, ranked, with the early / middle / late comparison (the UNet's down / mid / up
 * blocks) and a plot of the scores by depth.
 */
@Command(name = "layers", description = "Score taps for steering (LayerNavigator s = D + C) from prompt pairs.", sortOptions = false)
final class LayersCommand implements Callable<Integer> {
    @Mixin PairsOptions pairs;

    @Option(names = "--top", paramLabel = "K", defaultValue = "10", description = "rows of the ranked table (default ${DEFAULT-VALUE}; 0 = all)")
    int top;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "write the scores by depth as a PNG plot")
    Path plot;

    @Option(names = "--json", paramLabel = "FILE.json", description = "write every tap's D, C, s and group as JSON")
    Path json;

    @Mixin GenerationOptions gen;

    @Override
    public Integer call() {
        if (top < 0) throw new UserError("--top " + top + ": must be 0 (all) or more");
        if (plot != null && !plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new UserError("--plot " + plot + ": must end in .png");
        PromptPairs p = pairs.read();
        GenerateRequest base = PairsOptions.baseRequest(gen, p);
        Backend ops = Devices.backend(gen.device);
        StableDiffusionPipeline pipe = gen.pipeline();
        PairedActivations acts = pairs.capture(pipe, ops, base, p, false);
        Map<String, LayerScore> scores = acts.scores();
        System.out.print(table(scores, top));
        if (plot != null) {
            Png.write(plot, plot(scores, "LayerNavigator scores, " + p.size() + " pairs, steps " + pairs.atSteps), Map.of("software", "Stitch"));
            System.err.println("stitch: wrote " + plot);
        }
        if (json != null) {
            writeJson(json, scores);
            System.err.println("stitch: wrote " + json);
        }
        return 0;
    }

    /** The ranked table (top K, 0 = all) and the per-group summary. */
    static String table(Map<String, LayerScore> scores, int top) {
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
        for (var g : groups(scores).entrySet()) {
            List<Map.Entry<String, LayerScore>> members = g.getValue();
            double mean = members.stream().mapToDouble(e -> e.getValue().score()).average().orElse(Double.NaN);
            var best = members.stream().max(Comparator.comparingDouble(e -> e.getValue().score())).orElseThrow();
            s.append(String.format(Locale.ROOT, "%-6s  %5d  %9.4f  %9.4f  %s%n", g.getKey().label, members.size(), mean,
                best.getValue().score(), best.getKey()));
        }
        return s.toString();
    }

    /** Taps by score, best first (ties keep call order). */
    static List<Map.Entry<String, LayerScore>> ranked(Map<String, LayerScore> scores) {
        List<Map.Entry<String, LayerScore>> r = new ArrayList<>(scores.entrySet());
        r.sort(Comparator.comparingDouble((Map.Entry<String, LayerScore> e) -> e.getValue().score()).reversed());
        return r;
    }

    static Map<LayerGroup, List<Map.Entry<String, LayerScore>>> groups(Map<String, LayerScore> scores) {
        Map<LayerGroup, List<Map.Entry<String, LayerScore>>> g = new LinkedHashMap<>();
        for (LayerGroup lg : LayerGroup.values())
            for (var e : scores.entrySet()) if (LayerGroup.of(e.getKey()) == lg) g.computeIfAbsent(lg, x -> new ArrayList<>()).add(e);
        return g;
    }

    static dev.stitch.engine.image.RgbImage plot(Map<String, LayerScore> scores, String title) {
        List<ScorePlot.Point> pts = new ArrayList<>();
        scores.forEach((tap, s) -> pts.add(new ScorePlot.Point(tap, LayerGroup.of(tap).label, s.discriminability(), s.consistency())));
        return ScorePlot.draw(title, pts);
    }

    static void writeJson(Path file, Map<String, LayerScore> scores) {
        ObjectMapper om = new ObjectMapper();
        ArrayNode arr = om.createArrayNode();
        int depth = 0;
        for (var e : scores.entrySet()) {
            ObjectNode o = arr.addObject();
            o.put("tap", e.getKey()).put("depth", depth++).put("group", LayerGroup.of(e.getKey()).label)
                .put("D", e.getValue().discriminability()).put("C", e.getValue().consistency()).put("s", e.getValue().score());
        }
        writeText(file, arr.toPrettyString() + "\n");
    }

    /** Writes a text file atomically (temp file + rename). */
    static void writeText(Path file, String text) {
        AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8));
    }
}
