package dev.stitch.eval.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.stitch.eval.report.ReportHtml.esc;
import static dev.stitch.eval.report.ReportHtml.num;

/**
 * A line plot as inline SVG: axes with round-number ticks, one polyline per series with point markers, vertical
 * error bars where a point has an interval, a legend, and a native tooltip per point (an SVG {@code <title>}).
 */
final class SvgPlot {
    private SvgPlot() {}

    private static final int W = 640, LEFT = 64, RIGHT = 170, TOP = 34, PLOT_HEIGHT = 236;

    static String render(Report.Plot p, String[] palette) {
        boolean categorical = p.categories() != null && !p.categories().isEmpty();
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY, ymin = xmin, ymax = xmax;
        for (Report.Series s : p.series())
            for (Report.Point pt : s.points()) {
                xmin = Math.min(xmin, pt.x());
                xmax = Math.max(xmax, pt.x());
                for (Double y : new Double[] {pt.y(), pt.low(), pt.high()}) {
                    if (y == null || !Double.isFinite(y)) continue;
                    ymin = Math.min(ymin, y);
                    ymax = Math.max(ymax, y);
                }
            }
        if (categorical) {
            xmin = -0.5;
            xmax = p.categories().size() - 0.5;
        }
        if (xmin > xmax) { // no points at all
            xmin = 0;
            xmax = 1;
        }
        if (ymin > ymax) {
            ymin = 0;
            ymax = 1;
        }
        if (xmin == xmax) {
            xmin -= 1;
            xmax += 1;
        }
        double[] yt = ticks(ymin, ymax);
        ymin = Math.min(ymin, yt[0]);
        ymax = Math.max(ymax, yt[yt.length - 1]);
        if (ymin == ymax) {
            ymin -= 1;
            ymax += 1;
        }
        final double x0 = xmin, x1 = xmax, y0 = ymin, y1 = ymax;
        int longest = 0;
        if (categorical) for (String c : p.categories()) longest = Math.max(longest, shorten(c).length());
        // rotated category labels need room below the axis: about 3.5 px per character at 30°
        int bottom = categorical ? 40 + (int) Math.ceil(longest * 3.5) : 50;
        int pw = W - LEFT - RIGHT, ph = PLOT_HEIGHT, H = TOP + ph + bottom;
        java.util.function.DoubleUnaryOperator sx = x -> LEFT + (x - x0) / (x1 - x0) * pw;
        java.util.function.DoubleUnaryOperator sy = y -> TOP + (1 - (y - y0) / (y1 - y0)) * ph;

        StringBuilder s = new StringBuilder();
        s.append("<svg class=\"plot\" width=\"").append(W).append("\" height=\"").append(H).append("\" viewBox=\"0 0 ")
            .append(W).append(' ').append(H).append("\" role=\"img\" aria-label=\"").append(esc(p.title())).append("\">\n");
        s.append("<text x=\"").append(LEFT).append("\" y=\"20\" font-weight=\"600\">").append(esc(p.title())).append("</text>\n");
        // y grid and ticks
        for (double t : yt) {
            double y = sy.applyAsDouble(t);
            s.append("<line x1=\"").append(f(LEFT)).append("\" x2=\"").append(f(LEFT + pw)).append("\" y1=\"").append(f(y))
                .append("\" y2=\"").append(f(y)).append("\" stroke=\"#eee\"/>\n");
            s.append("<text x=\"").append(f(LEFT - 6)).append("\" y=\"").append(f(y + 4)).append("\" text-anchor=\"end\">")
                .append(esc(num(t))).append("</text>\n");
        }
        // x ticks
        List<double[]> xticks = new ArrayList<>();
        if (categorical) for (int i = 0; i < p.categories().size(); i++) xticks.add(new double[] {i});
        else for (double t : ticks(x0, x1)) if (t >= x0 - 1e-12 && t <= x1 + 1e-12) xticks.add(new double[] {t});
        for (double[] t : xticks) {
            double x = sx.applyAsDouble(t[0]);
            s.append("<line x1=\"").append(f(x)).append("\" x2=\"").append(f(x)).append("\" y1=\"").append(f(TOP + ph))
                .append("\" y2=\"").append(f(TOP + ph + 5)).append("\" stroke=\"#444\"/>\n");
            String label = categorical ? shorten(p.categories().get((int) t[0])) : num(t[0]);
            if (categorical)
                s.append("<text transform=\"translate(").append(f(x + 3)).append(',').append(f(TOP + ph + 14))
                    .append(") rotate(30)\" text-anchor=\"start\">").append(esc(label)).append("</text>\n");
            else
                s.append("<text x=\"").append(f(x)).append("\" y=\"").append(f(TOP + ph + 18)).append("\" text-anchor=\"middle\">")
                    .append(esc(label)).append("</text>\n");
        }
        // axes and their labels
        s.append("<line x1=\"").append(LEFT).append("\" x2=\"").append(LEFT + pw).append("\" y1=\"").append(TOP + ph)
            .append("\" y2=\"").append(TOP + ph).append("\" stroke=\"#444\"/>\n");
        s.append("<line x1=\"").append(LEFT).append("\" x2=\"").append(LEFT).append("\" y1=\"").append(TOP)
            .append("\" y2=\"").append(TOP + ph).append("\" stroke=\"#444\"/>\n");
        s.append("<text x=\"").append(LEFT + pw / 2).append("\" y=\"").append(H - 6).append("\" text-anchor=\"middle\">")
            .append(esc(p.xLabel())).append("</text>\n");
        s.append("<text transform=\"translate(16,").append(TOP + ph / 2).append(") rotate(-90)\" text-anchor=\"middle\">")
            .append(esc(p.yLabel())).append("</text>\n");
        // series
        for (int k = 0; k < p.series().size(); k++) {
            Report.Series ser = p.series().get(k);
            String color = palette[k % palette.length];
            List<Report.Point> pts = new ArrayList<>(ser.points());
            pts.sort((a, b) -> Double.compare(a.x(), b.x()));
            StringBuilder line = new StringBuilder();
            for (Report.Point pt : pts)
                if (Double.isFinite(pt.y())) line.append(f(sx.applyAsDouble(pt.x()))).append(',').append(f(sy.applyAsDouble(pt.y()))).append(' ');
            s.append("<g class=\"series\" stroke=\"").append(color).append("\" fill=\"").append(color).append("\">\n");
            if (!line.isEmpty())
                s.append("<polyline fill=\"none\" stroke-width=\"2\" points=\"").append(line.toString().strip()).append("\"/>\n");
            for (Report.Point pt : pts) {
                if (!Double.isFinite(pt.y())) continue;
                double x = sx.applyAsDouble(pt.x()), y = sy.applyAsDouble(pt.y());
                if (pt.low() != null && pt.high() != null) {
                    double lo = sy.applyAsDouble(pt.low()), hi = sy.applyAsDouble(pt.high());
                    s.append("<path fill=\"none\" stroke-width=\"1.2\" d=\"M").append(f(x)).append(' ').append(f(lo)).append('V').append(f(hi))
                        .append("M").append(f(x - 4)).append(' ').append(f(lo)).append('h').append(8)
                        .append("M").append(f(x - 4)).append(' ').append(f(hi)).append('h').append(8).append("\"/>\n");
                }
                String xs = categorical ? p.categories().get((int) Math.round(pt.x())) : num(pt.x());
                String tip = ser.name() + ": " + xs + " \u2192 " + num(pt.y())
                    + (pt.low() != null && pt.high() != null ? " [" + num(pt.low()) + ", " + num(pt.high()) + "]" : "");
                s.append("<circle cx=\"").append(f(x)).append("\" cy=\"").append(f(y)).append("\" r=\"3.5\"><title>")
                    .append(esc(tip)).append("</title></circle>\n");
            }
            s.append("</g>\n");
            // legend entry
            int ly = TOP + 8 + 18 * k;
            s.append("<rect x=\"").append(W - RIGHT + 14).append("\" y=\"").append(ly - 9).append("\" width=\"12\" height=\"12\" fill=\"")
                .append(color).append("\"/>\n");
            s.append("<text x=\"").append(W - RIGHT + 32).append("\" y=\"").append(ly + 1).append("\">").append(esc(shorten(ser.name())))
                .append("</text>\n");
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** About five round-number ticks (1, 2 or 5 × 10^k apart) covering [lo, hi]. */
    static double[] ticks(double lo, double hi) {
        if (!(hi > lo)) return new double[] {lo};
        double raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
        double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
        double start = Math.floor(lo / step) * step, end = Math.ceil(hi / step) * step;
        int n = (int) Math.round((end - start) / step) + 1;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) t[i] = Math.abs(start + i * step) < step * 1e-9 ? 0 : start + i * step;
        return t;
    }

    private static String shorten(String s) { return s.length() > 28 ? "\u2026" + s.substring(s.length() - 27) : s; }

    private static String f(double v) { return String.format(Locale.ROOT, "%.1f", v); }
}
