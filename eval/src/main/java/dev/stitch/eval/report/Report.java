package dev.stitch.eval.report;

import java.util.List;

/**
 * What report.html shows, independent of how it is drawn: the run's settings, image grids (baseline and each
 * steered setup, per prompt), metric tables with confidence intervals, and line plots.
 *
 * @param settings key/value pairs shown at the top (typically from run.json)
 */
public record Report(String title, List<Setting> settings, List<Table> tables, List<Plot> plots, List<Grid> grids) {
    public record Setting(String key, String value) {}

    /**
     * A metric value: {@code value}, optionally with an interval [low, high] (a confidence interval) or a standard
     * deviation, and the count it rests on. Null parts are left out; a null cell shows as a dash.
     */
    public record Cell(double value, Double low, Double high, Double std, Integer n) {
        public static Cell of(double v) { return new Cell(v, null, null, null, null); }

        public static Cell interval(double v, double low, double high, int n) { return new Cell(v, low, high, null, n); }

        public static Cell meanStd(double mean, double std) { return new Cell(mean, null, null, std, null); }
    }

    /** A table: one row per setup (baseline, each steering), one column per metric. */
    public record Table(String title, List<String> columns, List<Row> rows, String note) {}

    public record Row(String label, List<Cell> cells) {}

    /**
     * A line plot. With {@code categories} the x values are indices into it (e.g. layer names); otherwise numbers
     * (e.g. strengths).
     */
    public record Plot(String title, String xLabel, String yLabel, List<String> categories, List<Series> series) {}

    public record Series(String name, List<Point> points) {}

    /** A point with an optional error bar [low, high]. */
    public record Point(double x, double y, Double low, Double high) {
        public static Point of(double x, double y) { return new Point(x, y, null, null); }
    }

    /** One prompt's images: a row per setup, each image a path relative to the run folder (e.g. images/000012.png). */
    public record Grid(String prompt, List<GridRow> rows) {}

    public record GridRow(String label, List<String> images) {}
}
