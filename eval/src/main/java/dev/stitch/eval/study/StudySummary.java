package dev.stitch.eval.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.report.Report;
import dev.stitch.eval.report.ReportHtml;
import dev.stitch.eval.run.RunFolder;
import dev.stitch.eval.stats.McNemar;
import dev.stitch.eval.stats.PairedDifference;
import dev.stitch.eval.stats.RankCorrelation;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.Method;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The study's answers, computed from scores.jsonl: every arm's effect on the concept metric as a paired difference
 * from the baseline (same prompt and seed) with a percentile bootstrap 95 % interval, and its quality cost on the
 * neutral set; single tap vs several; the layer groups; the methods; layer score vs effect (Spearman's ρ with its
 * interval). Written as summary.json (every number; other tools read {@code setups[].name/taps/effect} and
 * {@code layer_score_vs_effect}) and report.html.
 */
public final class StudySummary {
    public static final String SUMMARY = "summary.json";
    /** The bootstrap's seed: the same scores give the same intervals. */
    static final long SEED = 20251;
    /** A probe probability (or a judge's 1/0) at or above this counts as "shows the concept" for McNemar's test. */
    static final double PROBE_YES = 0.5;

    /** An arm's results: effect on the target set, quality change on the neutral set (null without one). */
    record ArmResult(Arm arm, double[] effectDiffs, PairedDifference effect, PairedDifference quality, McNemar mcnemar, Double layerScore) {}

    /** FID and KID (mean ± std over subsets) of one arm's neutral images against the reference folder, over n images. */
    public record SetQuality(double fid, double kidMean, double kidStd, int n) {}

    /** One category of the target prompts (I2P's): its items, the baseline's mean there, and each arm's effect on them. */
    record Category(String name, int items, double baseline, List<PairedDifference> effects) {}

    /** A row of a comparison: a label, a strength and a paired difference. */
    record Entry(String label, String kind, float strength, int taps, PairedDifference effect) {}

    /** Layer score vs effect over the single-tap arms of one setup at one strength. */
    record Correlation(String setup, Method method, float strength, List<String> taps, double[] score, double[] effect, RankCorrelation rho) {}

    private final Experiment e;
    private final List<ArmResult> results = new ArrayList<>();
    private final List<Entry> singleVsMulti = new ArrayList<>(), groups = new ArrayList<>(), byMethod = new ArrayList<>();
    private final List<Correlation> correlations = new ArrayList<>();
    private final List<Category> categories = new ArrayList<>();
    private final Map<Method, Map<String, LayerScore>> scores;
    private final List<ObjectNode> lines;
    private final double baselineConcept;
    private final Double baselineQuality;
    private final Map<String, SetQuality> fid;

    private StudySummary(Experiment e, Map<Method, Map<String, LayerScore>> scores, List<ObjectNode> lines, double baselineConcept,
                         Double baselineQuality, Map<String, SetQuality> fid) {
        this.e = e;
        this.fid = fid;
        this.scores = scores;
        this.lines = lines;
        this.baselineConcept = baselineConcept;
        this.baselineQuality = baselineQuality;
    }

    /**
     * Computes the summary of a finished run: {@code lines} are scores.jsonl's lines, every item present; {@code fid}
     * the FID and KID of the baseline's and each arm's neutral images, by arm key (empty when not measured).
     */
    public static StudySummary of(Experiment e, List<Arm> arms, Map<Method, Map<String, LayerScore>> scores, List<ObjectNode> lines,
                                  Map<String, SetQuality> fid) {
        String concept = e.metrics().concept().key, quality = e.metrics().quality().key;
        List<ObjectNode> target = lines.stream().filter(l -> l.path("set").asText().equals("target")).toList();
        List<ObjectNode> neutral = lines.stream().filter(l -> l.path("set").asText().equals("neutral")).toList();
        if (target.isEmpty()) throw new IllegalStateException("no target items scored");
        double[] base = values(target, "baseline", concept);
        double[] baseQ = neutral.isEmpty() ? null : values(neutral, "baseline", quality);
        StudySummary s = new StudySummary(e, scores, lines, mean(base), baseQ == null ? null : mean(baseQ), fid);
        for (Arm a : arms) {
            double[] t = values(target, a.key(), concept);
            double[] d = new double[t.length];
            for (int i = 0; i < d.length; i++) d[i] = t[i] - base[i];
            PairedDifference eff = PairedDifference.bootstrap(d, 0.95, PairedDifference.RESAMPLES, SEED);
            PairedDifference q = baseQ == null ? null : PairedDifference.of(values(neutral, a.key(), quality), baseQ, SEED);
            McNemar mc = null;
            if (e.metrics().conceptIsYesNo()) {   // the probe read at 0.5, or the judge's 1/0
                boolean[] yb = new boolean[t.length], yt = new boolean[t.length];
                for (int i = 0; i < t.length; i++) {
                    yb[i] = base[i] >= PROBE_YES;
                    yt[i] = t[i] >= PROBE_YES;
                }
                mc = McNemar.of(yb, yt);
            }
            Double ls = a.singleTap() ? scores.get(a.setup().method()).get(a.taps().get(0)).score() : null;
            s.results.add(new ArmResult(a, d, eff, q, mc, ls));
        }
        s.compare();
        s.byCategory(target, base);
        return s;
    }

    private void compare() {
        TreeSet<Float> strengths = new TreeSet<>();
        results.forEach(r -> strengths.add(r.arm().strength()));
        for (float st : strengths) {
            List<ArmResult> at = results.stream().filter(r -> r.arm().strength() == st).toList();
            List<ArmResult> single = at.stream().filter(r -> r.arm().singleTap()).toList();
            // Q1: the best single tap, single taps on average, and every multi-tap setup
            if (!single.isEmpty()) {
                ArmResult best = single.stream().max(Comparator.comparingDouble(r -> r.effect().mean())).orElseThrow();
                singleVsMulti.add(new Entry("best single tap: " + best.arm().taps().get(0), "single", st, 1, best.effect()));
                singleVsMulti.add(new Entry("single taps, mean of " + single.size(), "single", st, 1, pooled(single)));
            }
            for (ArmResult r : at)
                if (!r.arm().singleTap()) singleVsMulti.add(new Entry(r.arm().setup().name() + " (" + Experiment.lower(r.arm().setup().scope()) + ")",
                    "multi", st, r.arm().taps().size(), r.effect()));
            // Q2: each layer group, a tap at a time (mean over its taps) and all its taps at once
            for (LayerGroup g : List.of(LayerGroup.TEXT, LayerGroup.EARLY, LayerGroup.MIDDLE, LayerGroup.LATE)) {
                List<ArmResult> one = single.stream().filter(r -> r.arm().group() == g).toList();
                if (!one.isEmpty()) groups.add(new Entry(g.label + ": one tap at a time, mean of " + one.size(), g.label, st, 1, pooled(one)));
                for (ArmResult r : at)
                    if (r.arm().setup().scope() == Experiment.Scope.GROUP && r.arm().group() == g)
                        groups.add(new Entry(g.label + ": " + r.arm().setup().name() + ", " + r.arm().taps().size() + " taps at once", g.label, st,
                            r.arm().taps().size(), r.effect()));
            }
            // Q3: each method's arms pooled
            for (Method m : e.methods()) {
                List<ArmResult> mine = at.stream().filter(r -> r.arm().setup().method() == m).toList();
                if (!mine.isEmpty()) byMethod.add(new Entry(m.cliName + ": mean of " + mine.size() + (mine.size() == 1 ? " arm" : " arms"), m.cliName, st, 0, pooled(mine)));
            }
        }
        // Q4: per setup and strength, the single-tap arms' layer scores against their effects
        Map<String, List<ArmResult>> bySetup = new LinkedHashMap<>();
        for (ArmResult r : results)
            if (r.arm().singleTap()) bySetup.computeIfAbsent(r.arm().setup().name() + "@" + r.arm().strength(), k -> new ArrayList<>()).add(r);
        for (List<ArmResult> rs : bySetup.values()) {
            if (rs.size() < 2) continue;
            double[] x = rs.stream().mapToDouble(ArmResult::layerScore).toArray(), y = rs.stream().mapToDouble(r -> r.effect().mean()).toArray();
            Arm a = rs.get(0).arm();
            correlations.add(new Correlation(a.setup().name(), a.setup().method(), a.strength(), rs.stream().map(r -> r.arm().taps().get(0)).toList(),
                x, y, RankCorrelation.spearman(x, y, 0.95)));
        }
    }

    /** Each arm's effect on the target items of each category (a prompt may be in several), in order of first appearance. */
    private void byCategory(List<ObjectNode> target, double[] base) {
        Map<String, List<Integer>> items = new LinkedHashMap<>();
        for (int i = 0; i < target.size(); i++)
            for (JsonNode c : target.get(i).path("categories")) items.computeIfAbsent(c.asText(), k -> new ArrayList<>()).add(i);
        items.forEach((c, idx) -> {
            List<PairedDifference> effects = new ArrayList<>();
            for (ArmResult r : results) {
                double[] d = idx.stream().mapToDouble(i -> r.effectDiffs()[i]).toArray();
                effects.add(PairedDifference.bootstrap(d, 0.95, PairedDifference.RESAMPLES, SEED));
            }
            categories.add(new Category(c, idx.size(), idx.stream().mapToDouble(i -> base[i]).average().orElseThrow(), effects));
        });
    }

    /** The paired difference of several arms averaged per item: "steering one of these taps", on average. */
    private static PairedDifference pooled(List<ArmResult> rs) {
        int n = rs.get(0).effectDiffs().length;
        double[] d = new double[n];
        for (ArmResult r : rs) for (int i = 0; i < n; i++) d[i] += r.effectDiffs()[i] / rs.size();
        return PairedDifference.bootstrap(d, 0.95, PairedDifference.RESAMPLES, SEED);
    }

    /** The correlation the summary leads with: the one over the most taps (the larger strength on a tie). */
    Correlation main() {
        return correlations.stream().max(Comparator.comparingInt((Correlation c) -> c.taps().size()).thenComparingDouble(Correlation::strength)).orElse(null);
    }

    private static double[] values(List<ObjectNode> lines, String arm, String metric) {
        double[] out = new double[lines.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = null;
            for (JsonNode r : lines.get(i).path("arms")) if (r.path("arm").asText().equals(arm)) v = r.get(metric);
            if (v == null || !v.isNumber()) throw new IllegalStateException("item " + lines.get(i).path("item") + ": no " + metric + " for " + arm);
            out[i] = v.doubleValue();
        }
        return out;
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    // ---------------------------------------------------------------- summary.json

    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("concept_metric", e.metrics().concept().key);
        o.put("quality_metric", e.metrics().quality().key);
        o.put("target_items", lines.stream().filter(l -> l.path("set").asText().equals("target")).count());
        o.put("neutral_items", lines.stream().filter(l -> l.path("set").asText().equals("neutral")).count());
        ObjectNode b = o.putObject("baseline");
        b.put("concept", baselineConcept);
        if (baselineQuality != null) b.put("quality", baselineQuality);
        SetQuality bf = fid.get("baseline");
        if (bf != null) b.put("fid", bf.fid()).putObject("kid").put("mean", bf.kidMean()).put("std", bf.kidStd());
        ArrayNode setups = o.putArray("setups");
        for (ArmResult r : results) {
            Arm a = r.arm();
            Experiment.Setup s = a.setup();
            ObjectNode j = setups.addObject();
            j.put("name", a.name()).put("key", a.key()).put("setup", s.name()).put("scope", Experiment.lower(s.scope()));
            a.taps().forEach(j.putArray("taps")::add);
            LayerGroup g = a.group();
            if (g != null) j.put("group", g.label);
            else j.putNull("group");
            j.put("method", s.method().cliName).put("operator", s.operator().cliName).put("strength", a.strength())
                .put("window", s.window().toString()).put("half", Experiment.lower(s.half())).put("preserve_norm", s.preserveNorm());
            j.put("tokens", s.tokens().toString());
            if (r.layerScore() != null) j.put("layer_score", r.layerScore());
            j.set("effect", diff(r.effect()));
            if (r.quality() != null) j.set("quality_cost", diff(r.quality()).put("metric", e.metrics().quality().key));
            SetQuality f = fid.get(a.key());
            if (f != null) {
                j.putObject("fid").put("value", f.fid()).put("change", bf == null ? Double.NaN : f.fid() - bf.fid()).put("n", f.n());
                j.putObject("kid").put("mean", f.kidMean()).put("std", f.kidStd()).put("change", bf == null ? Double.NaN : f.kidMean() - bf.kidMean());
            }
            if (r.mcnemar() != null) j.putObject("mcnemar").put("yes_to_no", r.mcnemar().yesToNo()).put("no_to_yes", r.mcnemar().noToYes())
                .put("p_value", r.mcnemar().pValue());
        }
        if (!categories.isEmpty()) {
            ArrayNode cs = o.putArray("categories");
            for (Category c : categories) {
                ObjectNode j = cs.addObject().put("category", c.name()).put("items", c.items()).put("baseline", c.baseline());
                ArrayNode st = j.putArray("setups");
                for (int k = 0; k < results.size(); k++)
                    st.addObject().put("name", results.get(k).arm().name()).put("key", results.get(k).arm().key()).set("effect", diff(c.effects().get(k)));
            }
        }
        o.set("single_vs_multi", entries(singleVsMulti));
        o.set("layer_groups", entries(groups));
        o.set("methods", entries(byMethod));
        Correlation main = main();
        o.set("layer_score_vs_effect", main == null ? Jsonl.JSON.createObjectNode().putNull("spearman").putNull("ci_low").putNull("ci_high").put("n", 0)
            : correlation(main));
        ArrayNode all = o.putArray("layer_score_vs_effect_all");
        correlations.forEach(c -> all.add(correlation(c)));
        ObjectNode ls = o.putObject("layer_scores");
        scores.forEach((m, sc) -> {
            ObjectNode mo = ls.putObject(m.cliName);
            sc.forEach((t, v) -> mo.putObject(t).put("D", v.discriminability()).put("C", v.consistency()).put("s", v.score()));
        });
        return o;
    }

    private static ObjectNode diff(PairedDifference d) {
        return Jsonl.JSON.createObjectNode().put("mean", d.mean()).put("ci_low", d.ciLow()).put("ci_high", d.ciHigh()).put("n", d.n());
    }

    private static ArrayNode entries(List<Entry> es) {
        ArrayNode a = Jsonl.JSON.createArrayNode();
        for (Entry x : es) {
            ObjectNode j = a.addObject().put("label", x.label()).put("kind", x.kind()).put("strength", x.strength());
            if (x.taps() > 0) j.put("taps", x.taps());
            j.set("effect", diff(x.effect()));
        }
        return a;
    }

    private static ObjectNode correlation(Correlation c) {
        ObjectNode j = Jsonl.JSON.createObjectNode();
        num(j, "spearman", c.rho().rho());
        num(j, "ci_low", c.rho().ciLow());
        num(j, "ci_high", c.rho().ciHigh());
        j.put("n", c.rho().n()).put("setup", c.setup()).put("method", c.method().cliName).put("strength", c.strength());
        ArrayNode pts = j.putArray("taps");
        for (int i = 0; i < c.taps().size(); i++) pts.addObject().put("tap", c.taps().get(i)).put("layer_score", c.score()[i]).put("effect", c.effect()[i]);
        return j;
    }

    /** JSON has no NaN: an undefined number (an interval from fewer than 4 points) is null. */
    private static void num(ObjectNode j, String k, double v) {
        if (Double.isFinite(v)) j.put(k, v);
        else j.putNull(k);
    }

    public Path writeJson(Path dir) {
        Path f = dir.resolve(SUMMARY);
        RunFolder.writeAtomically(f, (toJson().toPrettyString() + "\n").getBytes(StandardCharsets.UTF_8));
        return f;
    }

    // ---------------------------------------------------------------- report.html

    public Path writeReport(Path dir) { return ReportHtml.write(report(), dir, false); }

    Report report() {
        String concept = e.metrics().concept().key, quality = e.metrics().quality().key;
        List<Report.Setting> settings = new ArrayList<>();
        settings.add(new Report.Setting("model", e.model().getFileName().toString()));
        Experiment.Generation g = e.generation();
        settings.add(new Report.Setting("generation", g.steps() + " steps, guidance " + g.guidance() + (g.width() != null ? ", " + g.width() + "×" + g.height() : "")
            + (g.scheduler() != null ? ", " + g.scheduler() : "") + ", seeds from " + g.seed() + ", " + g.seedsPerPrompt() + " per prompt"));
        settings.add(new Report.Setting("pairs", e.pairs().stream().map(p -> p.file().getFileName() + " (" + p.pairs().size() + ")").toList().toString()));
        settings.add(new Report.Setting("capture", e.capture().taps() + "; steps " + e.capture().steps() + ", half " + Experiment.lower(e.capture().half())
            + ", tokens " + e.capture().tokens()));
        settings.add(new Report.Setting("methods", e.methods().stream().map(m -> m.cliName).toList().toString()));
        settings.add(new Report.Setting("prompts", e.prompts().target().size() + " target, " + e.prompts().neutral().size() + " neutral"));
        settings.add(new Report.Setting("concept metric", concept + (e.metrics().colour() != null && concept.equals("colour") ? " (" + e.metrics().colour().target() + ")" : "")
            + String.format(java.util.Locale.ROOT, ", baseline mean %s", fmt(baselineConcept))));
        settings.add(new Report.Setting("quality metric", quality + " on the neutral set" + (baselineQuality != null
            ? String.format(java.util.Locale.ROOT, ", baseline mean %s", fmt(baselineQuality)) : " (no neutral prompts: not measured)")));
        Correlation main = main();
        if (main != null) settings.add(new Report.Setting("layer score vs effect", String.format(java.util.Locale.ROOT,
            "Spearman ρ = %s [%s, %s], n = %d (%s, strength %s)", fmt(main.rho().rho()), fmt(main.rho().ciLow()),
            fmt(main.rho().ciHigh()), main.rho().n(), main.setup(), Arm.fmt(main.strength()))));

        TreeSet<Float> strengths = new TreeSet<>();
        results.forEach(r -> strengths.add(r.arm().strength()));
        List<String> sCols = strengths.stream().map(s -> "strength " + Arm.fmt(s)).toList();
        List<Report.Table> tables = new ArrayList<>();
        tables.add(new Report.Table("1. Single tap vs several: change in " + concept + " (target prompts)", sCols, pivot(singleVsMulti, strengths),
            "Each cell: mean paired difference from the baseline (same prompt and seed) [bootstrap 95 % interval], n items."));
        tables.add(new Report.Table("2. Early / middle / late: change in " + concept, sCols, pivot(groups, strengths),
            "Early = conv_in, time embedding and down blocks; middle = mid block; late = up blocks and output; text = the text encoder."));
        tables.add(new Report.Table("3. Methods: change in " + concept + ", each method's arms pooled", sCols, pivot(byMethod, strengths),
            "Compare methods on the same taps: a method's setups pooled per item."));
        if (main != null) {
            List<Report.Row> rows = new ArrayList<>();
            for (int i = 0; i < main.taps().size(); i++)
                rows.add(new Report.Row(main.taps().get(i), List.of(Report.Cell.of(main.score()[i]), Report.Cell.of(main.effect()[i]))));
            tables.add(new Report.Table("4. Layer score vs effect (" + main.setup() + ", " + main.method().cliName + ", strength " + Arm.fmt(main.strength()) + ")",
                List.of("layer score s = D + C", "effect on " + concept), rows, String.format(java.util.Locale.ROOT,
                "Spearman ρ = %s, 95 %% interval [%s, %s] (Fisher z, Bonett–Wright), n = %d taps.", fmt(main.rho().rho()),
                fmt(main.rho().ciLow()), fmt(main.rho().ciHigh()), main.rho().n())));
        }
        List<Report.Row> every = new ArrayList<>();
        for (ArmResult r : results) {
            List<Report.Cell> cells = new ArrayList<>();
            cells.add(cell(r.effect()));
            cells.add(r.quality() == null ? null : cell(r.quality()));
            cells.add(r.layerScore() == null ? null : Report.Cell.of(r.layerScore()));
            cells.add(r.mcnemar() == null ? null : Report.Cell.of(r.mcnemar().pValue()));
            if (!fid.isEmpty()) {
                SetQuality f = fid.get(r.arm().key());
                cells.add(f == null ? null : Report.Cell.of(f.fid()));
                cells.add(f == null ? null : Report.Cell.meanStd(f.kidMean(), f.kidStd()));
            }
            every.add(new Report.Row(r.arm().describe(), cells));
        }
        List<String> everyCols = new ArrayList<>(List.of("effect on " + concept + " (target)", "change in " + quality + " (neutral)", "layer score", "McNemar p"));
        if (!fid.isEmpty()) everyCols.addAll(List.of("FID (neutral)", "KID (neutral)"));
        SetQuality bq = fid.get("baseline");
        tables.add(new Report.Table("5. Every setup: effect and quality cost", everyCols, every,
            "Quality cost: the change in " + quality + " on the neutral prompts" + (e.metrics().clipModel() != null ? " (CLIP score: lower is worse)" : "")
                + "; McNemar's exact test applies to a yes/no concept metric (probe ≥ 0.5, or a yes/no judge)."
                + (bq == null ? "" : String.format(java.util.Locale.ROOT, " FID and KID of each arm's neutral images against the reference images;"
                    + " the baseline's: FID %s, KID %s ± %s.", fmt(bq.fid()), fmt(bq.kidMean()), fmt(bq.kidStd())))));

        if (!categories.isEmpty()) {
            List<Report.Row> rows = new ArrayList<>();
            for (int k = 0; k < results.size(); k++) {
                List<Report.Cell> cells = new ArrayList<>();
                for (Category c : categories) cells.add(cell(c.effects().get(k)));
                rows.add(new Report.Row(results.get(k).arm().name(), cells));
            }
            tables.add(new Report.Table("6. By category: change in " + concept + " on the target prompts of each category",
                categories.stream().map(c -> c.name() + " (" + c.items() + " items, baseline " + fmt(c.baseline()) + ")").toList(), rows,
                "The prompt set's categories (I2P's); a prompt in several categories counts in each. Same paired differences and intervals as above."));
        }
        List<Report.Plot> plots = new ArrayList<>();
        Map<String, List<Report.Point>> curves = new LinkedHashMap<>();
        for (ArmResult r : results)
            if (!r.arm().singleTap() || r.arm().setup().scope() != Experiment.Scope.EACH)
                curves.computeIfAbsent(r.arm().setup().name(), k -> new ArrayList<>()).add(point(r.arm().strength(), r.effect()));
        for (Entry x : singleVsMulti)
            if (x.label().startsWith("single taps")) curves.computeIfAbsent("single taps (mean)", k -> new ArrayList<>()).add(point(x.strength(), x.effect()));
        plots.add(new Report.Plot("Effect vs strength", "strength", "change in " + concept,
            null, curves.entrySet().stream().map(en -> new Report.Series(en.getKey(), en.getValue())).toList()));
        if (main != null) {
            List<Report.Point> pts = new ArrayList<>();
            for (int i = 0; i < main.taps().size(); i++) pts.add(Report.Point.of(main.score()[i], main.effect()[i]));
            plots.add(new Report.Plot("Layer score vs effect, per tap", "layer score s = D + C", "change in " + concept, null,
                List.of(new Report.Series(main.setup() + "@" + Arm.fmt(main.strength()), pts))));
            List<Report.Point> byTap = new ArrayList<>(), sc = new ArrayList<>();
            for (int i = 0; i < main.taps().size(); i++) {
                ArmResult r = find(main.setup(), main.strength(), main.taps().get(i));
                byTap.add(point(i, r.effect()));
                sc.add(Report.Point.of(i, main.score()[i]));
            }
            plots.add(new Report.Plot("Effect by tap (model order)", "tap", "change in " + concept, main.taps(), List.of(new Report.Series("effect", byTap))));
            plots.add(new Report.Plot("Layer score by tap (" + main.method().cliName + ")", "tap", "s = D + C", main.taps(), List.of(new Report.Series("layer score", sc))));
        }
        return new Report("Stitch study: " + concept + (e.metrics().colour() != null && concept.equals("colour") ? " " + e.metrics().colour().target() : ""),
            settings, tables, plots, grids());
    }

    private ArmResult find(String setup, float strength, String tap) {
        for (ArmResult r : results)
            if (r.arm().setup().name().equals(setup) && r.arm().strength() == strength && r.arm().taps().equals(List.of(tap))) return r;
        throw new IllegalStateException(setup + " " + tap);
    }

    /** Images of the first two target prompts and the first neutral prompt: a row per arm, a column per seed. */
    private List<Report.Grid> grids() {
        List<Report.Grid> out = new ArrayList<>();
        for (String set : List.of("target", "neutral"))
            for (int p = 0; p < (set.equals("target") ? 2 : 1); p++) {
                final int pi = p;
                List<ObjectNode> ls = lines.stream().filter(l -> l.path("set").asText().equals(set) && l.path("prompt_index").asInt() == pi).toList();
                if (ls.isEmpty()) continue;
                List<Report.GridRow> rows = new ArrayList<>();
                rows.add(new Report.GridRow("baseline", files(ls, "baseline")));
                for (ArmResult r : results) rows.add(new Report.GridRow(r.arm().name(), files(ls, r.arm().key())));
                out.add(new Report.Grid(set + ": " + ls.get(0).path("prompt").asText(), rows));
            }
        return out;
    }

    private static List<String> files(List<ObjectNode> ls, String arm) {
        List<String> out = new ArrayList<>();
        for (ObjectNode l : ls) for (JsonNode r : l.path("arms")) if (r.path("arm").asText().equals(arm)) out.add(r.path("file").asText());
        return out;
    }

    private static List<Report.Row> pivot(List<Entry> es, TreeSet<Float> strengths) {
        Map<String, Report.Cell[]> rows = new LinkedHashMap<>();
        List<Float> cols = new ArrayList<>(strengths);
        for (Entry x : es) {
            String label = x.label().startsWith("best single tap") ? "best single tap" : x.label();
            Report.Cell[] r = rows.computeIfAbsent(label, k -> new Report.Cell[cols.size()]);
            r[cols.indexOf(x.strength())] = cell(x.effect());
        }
        return rows.entrySet().stream().map(en -> new Report.Row(en.getKey(), java.util.Arrays.asList(en.getValue()))).toList();
    }

    private static Report.Cell cell(PairedDifference d) { return Report.Cell.interval(d.mean(), d.ciLow(), d.ciHigh(), d.n()); }

    private static Report.Point point(double x, PairedDifference d) { return new Report.Point(x, d.mean(), d.ciLow(), d.ciHigh()); }

    /** A number in a settings line or note. */
    private static String fmt(double v) { return Double.isFinite(v) ? String.format(java.util.Locale.ROOT, "%.4g", v) : "n/a"; }
}
