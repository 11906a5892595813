package dev.stitch.steering;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.ParameterError;
import dev.stitch.steering.plot.ImageGrid;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One prompt and seed generated under every operator × layer set (the rows) × strength (the columns) of one
 * steering plan, beside the unsteered image: what {@code stitch sweep} draws as a grid. The plan's window, CFG half
 * and norm preservation apply to every cell.
 *
 * @param strengths the columns, finite numbers
 * @param layerSets the taps steered in each row ({@link LayerSet#parse}, {@link LayerSet#defaults})
 * @param operators one row per operator and layer set
 */
public record Sweep(List<Float> strengths, List<LayerSet> layerSets, List<Operator> operators) {
    public Sweep {
        strengths = List.copyOf(strengths);
        layerSets = List.copyOf(layerSets);
        operators = List.copyOf(operators);
        if (strengths.isEmpty()) throw new ParameterError("strengths", "", "give at least one strength");
        for (float s : strengths) SteeringPlan.checkStrength("strengths", s);
        if (layerSets.isEmpty()) throw new ParameterError("layerSets", "", "give at least one layer set");
        if (operators.isEmpty()) throw new ParameterError("operators", "", "give at least one operator");
    }

    /** One steered cell of the grid: row, column (1 + the strength's index; column 0 is unsteered). */
    public record Cell(int row, int column, Operator operator, LayerSet layerSet, float strength, RgbImage image, double pixelRms) {}

    /** Receives each cell as it is made: {@code done} of {@code total} steered cells. */
    public interface Progress {
        void cell(int done, int total, Cell cell);

        Progress NONE = (d, t, c) -> {};
    }

    /**
     * The sweep's images.
     *
     * @param request  the generation settings every cell shares
     * @param plan     the plan the cells restrict, re-operate and re-strength
     * @param name     the steering file's name, for the title and the JSON
     * @param baseline the unsteered image (column 0 of every row)
     */
    public record Result(GenerateRequest request, SteeringPlan plan, String name, List<String> rowLabels, List<String> columnLabels,
                         RgbImage baseline, List<Cell> cells) {
        public String title() {
            return "\"" + request.prompts().getFirst() + "\"  seed " + request.seed() + ", " + request.steps() + " steps, " + name;
        }

        /** The grid: title, a label per row and column, the baseline in column 0. */
        public RgbImage grid() {
            RgbImage[][] grid = new RgbImage[rowLabels.size()][columnLabels.size()];
            for (RgbImage[] row : grid) row[0] = baseline;
            for (Cell c : cells) grid[c.row()][c.column()] = c.image();
            return ImageGrid.draw(title(), rowLabels, columnLabels, grid);
        }

        /** Every cell described: settings, then per cell its row, column, operator, layer set, taps, strength and pixel RMS. */
        public String json(Path gridFile) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode root = om.createObjectNode();
            root.put("grid", gridFile.getFileName().toString()).put("steer", name).put("prompt", request.prompts().getFirst())
                .put("negative_prompt", request.negative(0)).put("seed", request.seed()).put("steps", request.steps())
                .put("guidance", request.guidance()).put("window", plan.window().toString())
                .put("half", plan.half().name().toLowerCase(Locale.ROOT)).put("preserve_norm", plan.preserveNorm());
            ArrayNode rl = root.putArray("rows");
            rowLabels.forEach(rl::add);
            ArrayNode cl = root.putArray("columns");
            columnLabels.forEach(cl::add);
            ArrayNode arr = root.putArray("cells");
            for (int r = 0; r < rowLabels.size(); r++)
                arr.addObject().put("row", r).put("column", 0).put("steered", false).put("pixel_rms_vs_unsteered", 0.0);
            for (Cell c : cells) {
                ObjectNode o = arr.addObject();
                o.put("row", c.row()).put("column", c.column()).put("steered", true).put("operator", c.operator().cliName)
                    .put("layer_set", c.layerSet().label()).put("strength", c.strength()).put("pixel_rms_vs_unsteered", c.pixelRms());
                ArrayNode t = o.putArray("taps");
                c.layerSet().taps().forEach(t::add);
            }
            return root.toPrettyString() + "\n";
        }

        /** Writes the grid as a PNG and its cells as JSON, each atomically. */
        public void write(Path gridPng, Path json) {
            Png.write(gridPng, grid(), Map.of("software", "Stitch", "prompt", request.prompts().getFirst()));
            AtomicFiles.write(json, json(gridPng).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Generates the unsteered image, then every cell. {@code request} must hold one prompt; every operator is
     * checked against the model (and the plan's file) before the first image.
     */
    public Result run(StableDiffusion sd, GenerateRequest request, SteeringPlan plan, String name, Progress progress) {
        if (request.prompts().size() != 1) throw new ParameterError("prompts", request.prompts().size(), "a sweep takes exactly one prompt");
        TapCatalog catalog = sd.model().tapCatalog(request.width(), request.height());
        plan.checkGuidance(request.guidance(), "steering");
        for (Operator op : operators) plan.withOperator(op).check(catalog, "operator " + op.cliName);
        for (LayerSet set : layerSets) plan.restrictedTo(set.taps()).check(catalog, "layer set " + set.label());
        RgbImage baseline = image(sd.generate(request));
        List<String> rowLabels = new ArrayList<>(), columnLabels = new ArrayList<>();
        columnLabels.add("unsteered");
        for (float s : strengths) columnLabels.add("strength " + format(s));
        List<Cell> cells = new ArrayList<>();
        int row = 0, total = operators.size() * layerSets.size() * strengths.size();
        for (Operator op : operators)
            for (LayerSet set : layerSets) {
                rowLabels.add(op.cliName + " / " + set.label() + (set.taps().size() > 1 ? " (" + set.taps().size() + " taps)" : ""));
                for (int j = 0; j < strengths.size(); j++) {
                    SteeringPlan p = plan.restrictedTo(set.taps()).withOperator(op).withStrength(strengths.get(j));
                    GenerateResult res;
                    try (var steer = p.register(sd.taps())) {
                        res = sd.generate(request);
                    }
                    RgbImage img = image(res);
                    Cell cell = new Cell(row, j + 1, op, set, strengths.get(j), img, pixelRms(baseline, img));
                    cells.add(cell);
                    progress.cell(cells.size(), total, cell);
                }
                row++;
            }
        return new Result(request, plan, name, rowLabels, columnLabels, baseline, cells);
    }

    private static RgbImage image(GenerateResult r) { return new RgbImage(r.width(), r.height(), r.pixels()[0]); }

    /** Root-mean-square difference of two images' 8-bit channel values (0–255 scale). */
    public static double pixelRms(RgbImage a, RgbImage b) {
        double s = 0;
        byte[] x = a.rgb(), y = b.rgb();
        for (int i = 0; i < x.length; i++) {
            double d = (x[i] & 0xff) - (y[i] & 0xff);
            s += d * d;
        }
        return Math.sqrt(s / x.length);
    }

    /** A strength as a label: whole numbers without a fraction. */
    public static String format(float s) { return s == Math.rint(s) && Math.abs(s) < 1e6 ? Integer.toString((int) s) : Float.toString(s); }
}
