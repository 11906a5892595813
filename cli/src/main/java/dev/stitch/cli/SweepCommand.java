package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.TapPattern;
import dev.stitch.eval.plot.ImageGrid;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code stitch sweep}: one prompt and seed generated under strengths × layer sets × operators of one steering file,
 * as an image grid (rows: operator and layer set; columns: the unsteered baseline, then each strength) and a JSON
 * file describing every cell.
 */
@Command(name = "sweep", description = "Grid of images over steering strengths x layer sets x operators.", sortOptions = false)
final class SweepCommand implements Callable<Integer> {
    @Option(names = "--strengths", paramLabel = "LIST", defaultValue = "1,2,4", split = ",", description = "strengths, the columns (default ${DEFAULT-VALUE})")
    List<Float> strengths;

    @Option(names = "--layer-sets", paramLabel = "LIST", defaultValue = "all,early,middle,late", split = ",",
        description = "all, early, middle, late, text, topK (the K best-scored taps), single (each of the --top best alone), or a tap glob (default ${DEFAULT-VALUE})")
    List<String> layerSets;

    @Option(names = "--operators", paramLabel = "LIST", split = ",", description = "add, ablate, gated, clamp, act (default: the file's operator)")
    List<String> operators = new ArrayList<>();

    @Option(names = "--top", paramLabel = "K", defaultValue = "3", description = "how many best-scored taps 'single' steers one at a time (default ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--out", required = true, paramLabel = "GRID.png", description = "the grid image")
    Path out;

    @Option(names = "--json", paramLabel = "FILE.json", description = "the cells described (default: the grid's name with .json)")
    Path json;

    @Mixin GenerationOptions gen;

    @Mixin SteeringOptions steering;

    /** A named group of the file's taps: one grid row per operator. */
    record LayerSet(String label, List<String> taps) {}

    /** One generated cell. */
    record Cell(int row, int column, Operator op, LayerSet set, float strength, RgbImage image, double rms) {}

    @Override
    public Integer call() {
        if (!out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new UserError("--out " + out + ": must end in .png");
        if (steering.steer.size() != 1) throw new UserError("--steer: sweep takes exactly one steering file");
        if (steering.steer.get(0).contains("@")) throw new UserError("--steer " + steering.steer.get(0) + ": sweep takes strengths from --strengths, not '@'");
        if (steering.op != null) throw new UserError("--steer-op: sweep takes operators from --operators");
        if (!steering.tapStrengths.isEmpty()) throw new UserError("--steer-tap: sweep sets strengths itself (--strengths)");
        if (gen.prompts.size() != 1) throw new UserError("--prompt: sweep takes exactly one prompt");
        GenerateRequest req = gen.request();
        Backend ops = Devices.backend(gen.device);
        StableDiffusionPipeline pipe = gen.pipeline();
        int w = req.width() != null ? req.width() : pipe.defaultSize(), h = req.height() != null ? req.height() : pipe.defaultSize();
        SteeringPlan plan = steering.plans(pipe, w, h, req.steps()).get(0);
        List<Operator> opList = operators.isEmpty() ? List.of(plan.operator()) : operators.stream().map(Operator::parse).toList();
        List<LayerSet> sets = layerSets(layerSets, plan.file(), top);
        Path jsonOut = json != null ? json : out.resolveSibling(out.getFileName().toString().replaceAll("(?i)\\.png$", "") + ".json");
        System.err.println("stitch: sweep of " + opList.size() * sets.size() + " rows x " + strengths.size() + " strengths, seed " + req.seed());
        run(pipe, ops, req, plan, opList, sets, strengths, steering.steer.get(0), out, jsonOut);
        return 0;
    }

    /** Parses the layer-set names against the file's taps and layer scores. */
    static List<LayerSet> layerSets(List<String> names, SteeringFile file, int top) {
        List<String> taps = List.copyOf(file.taps().keySet());
        List<LayerSet> sets = new ArrayList<>();
        for (String raw : names) {
            String name = raw.strip();
            if (name.equals("all")) sets.add(new LayerSet("all", taps));
            else if (List.of("text", "early", "middle", "late", "vae").contains(name)) {
                LayerGroup g = LayerGroup.parse(name);
                List<String> in = taps.stream().filter(t -> LayerGroup.of(t) == g).toList();
                if (in.isEmpty()) throw new UserError("--layer-sets " + name + ": the steering file has no " + name + " taps");
                sets.add(new LayerSet(name, in));
            } else if (name.matches("top\\d+")) {
                int k = Integer.parseInt(name.substring(3));
                if (k < 1) throw new UserError("--layer-sets " + name + ": K must be at least 1");
                sets.add(new LayerSet(name, best(file, k, name)));
            } else if (name.equals("single")) {
                for (String t : best(file, top, name)) sets.add(new LayerSet(t, List.of(t)));
            } else {
                TapPattern p = TapPattern.of(name);
                List<String> in = taps.stream().filter(p::matches).toList();
                if (in.isEmpty()) throw new UserError("--layer-sets " + name + ": not all, early, middle, late, text, topK or single, and no tap of the file matches it");
                sets.add(new LayerSet(name, in));
            }
        }
        return sets;
    }

    /** The k best taps by the file's layer scores, in call order. */
    private static List<String> best(SteeringFile file, int k, String what) {
        Map<String, LayerScore> scores = file.layerScores();
        if (scores.isEmpty()) throw new UserError("--layer-sets " + what + ": the steering file has no layer scores (extract it with `stitch extract`)");
        List<String> ranked = scores.entrySet().stream().filter(e -> file.taps().containsKey(e.getKey()))
            .sorted(Comparator.comparingDouble((Map.Entry<String, LayerScore> e) -> e.getValue().score()).reversed())
            .limit(k).map(Map.Entry::getKey).toList();
        return file.taps().keySet().stream().filter(ranked::contains).toList();
    }

    /** Generates every cell, writes the grid and its JSON, and returns the cells. */
    static List<Cell> run(StableDiffusionPipeline pipe, Backend ops, GenerateRequest req, SteeringPlan plan, List<Operator> opList,
                          List<LayerSet> sets, List<Float> strengths, String steerName, Path gridOut, Path jsonOut) {
        int w = req.width() != null ? req.width() : pipe.defaultSize(), h = req.height() != null ? req.height() : pipe.defaultSize();
        var catalog = pipe.tapCatalog(w, h);
        for (Operator op : opList) plan.withOperator(op).check(catalog, "--operators " + op.cliName);   // before any image
        HookedTaps taps = new HookedTaps(ops);
        GenerateResult base = pipe.generate(req, ops, taps, StableDiffusionPipeline.Progress.NONE);
        RgbImage baseline = image(base);
        List<String> rowLabels = new ArrayList<>(), colLabels = new ArrayList<>();
        colLabels.add("unsteered");
        for (float s : strengths) colLabels.add("strength " + fmt(s));
        int rows = opList.size() * sets.size();
        RgbImage[][] grid = new RgbImage[rows][strengths.size() + 1];
        List<Cell> cells = new ArrayList<>();
        int row = 0, done = 0, total = rows * strengths.size();
        for (Operator op : opList)
            for (LayerSet set : sets) {
                rowLabels.add(op.cliName + " / " + set.label() + (set.taps().size() > 1 ? " (" + set.taps().size() + " taps)" : ""));
                grid[row][0] = baseline;
                for (int j = 0; j < strengths.size(); j++) {
                    SteeringPlan p = plan.restrictedTo(set.taps()).withOperator(op).withStrength(strengths.get(j));
                    GenerateResult res;
                    try (var steer = p.register(taps)) {
                        res = pipe.generate(req, ops, taps, StableDiffusionPipeline.Progress.NONE);
                    }
                    RgbImage img = image(res);
                    double rms = rms(baseline, img);
                    grid[row][j + 1] = img;
                    cells.add(new Cell(row, j + 1, op, set, strengths.get(j), img, rms));
                    System.err.printf(Locale.ROOT, "  [%d/%d] %s / %s at %s: pixel RMS vs unsteered %.2f%n", ++done, total, op.cliName,
                        set.label(), fmt(strengths.get(j)), rms);
                }
                row++;
            }
        String title = "\"" + req.prompts().get(0) + "\"  seed " + req.seed() + ", " + req.steps() + " steps, " + steerName;
        Png.write(gridOut, ImageGrid.draw(title, rowLabels, colLabels, grid), Map.of("software", "Stitch", "prompt", req.prompts().get(0)));
        System.err.println("stitch: wrote " + gridOut);
        LayersCommand.writeText(jsonOut, json(req, plan, steerName, gridOut, rowLabels, colLabels, cells));
        System.err.println("stitch: wrote " + jsonOut);
        return cells;
    }

    private static RgbImage image(GenerateResult r) { return new RgbImage(r.width(), r.height(), r.pixels()[0]); }

    /** Root-mean-square difference of two images' 8-bit channel values. */
    static double rms(RgbImage a, RgbImage b) {
        double s = 0;
        byte[] x = a.rgb(), y = b.rgb();
        for (int i = 0; i < x.length; i++) {
            double d = (x[i] & 0xff) - (y[i] & 0xff);
            s += d * d;
        }
        return Math.sqrt(s / x.length);
    }

    static String fmt(float s) { return s == Math.rint(s) && Math.abs(s) < 1e6 ? Integer.toString((int) s) : Float.toString(s); }

    private static String json(GenerateRequest req, SteeringPlan plan, String steerName, Path grid, List<String> rowLabels,
                               List<String> colLabels, List<Cell> cells) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("grid", grid.getFileName().toString()).put("steer", steerName).put("prompt", req.prompts().get(0))
            .put("negative_prompt", req.negative(0)).put("seed", req.seed()).put("steps", req.steps()).put("guidance", req.guidance())
            .put("window", plan.window().toString()).put("half", plan.half().name().toLowerCase(Locale.ROOT))
            .put("preserve_norm", plan.preserveNorm());
        ArrayNode rl = root.putArray("rows");
        rowLabels.forEach(rl::add);
        ArrayNode cl = root.putArray("columns");
        colLabels.forEach(cl::add);
        ArrayNode arr = root.putArray("cells");
        for (int r = 0; r < rowLabels.size(); r++) {
            ObjectNode o = arr.addObject();
            o.put("row", r).put("column", 0).put("steered", false).put("pixel_rms_vs_unsteered", 0.0);
        }
        for (Cell c : cells) {
            ObjectNode o = arr.addObject();
            o.put("row", c.row()).put("column", c.column()).put("steered", true).put("operator", c.op().cliName)
                .put("layer_set", c.set().label()).put("strength", c.strength()).put("pixel_rms_vs_unsteered", c.rms());
            ArrayNode t = o.putArray("taps");
            c.set().taps().forEach(t::add);
        }
        return root.toPrettyString() + "\n";
    }

}
