package dev.stitch.steering.plot;

import dev.stitch.engine.image.RgbImage;

import java.awt.BasicStroke;
import java.awt.Color;
import java.util.List;
import java.util.Locale;

/**
 * LayerNavigator scores by depth: one point per tap in call order (x) at its score s = D + C (y), coloured by its
 * group (early / middle / late ...), with D and C as thin lines and the best tap named. Group regions are shaded.
 */
public final class ScorePlot {
    private ScorePlot() {}

    /** One tap: its name, group label and scores. */
    public record Point(String tap, String group, double discriminability, double consistency) {
        public double score() { return discriminability + consistency; }
    }

    static final int W = 960, H = 520, LEFT = 70, RIGHT = 20, TOP = 50, BOTTOM = 70, TEXT = 13;
    private static final Color[] GROUP_COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0x9467bd), new Color(0x8c564b)};

    public static RgbImage draw(String title, List<Point> points) {
        if (points.isEmpty()) throw new IllegalArgumentException("no points to plot");
        List<String> groups = points.stream().map(Point::group).distinct().toList();
        double lo = 0, hi = 0;
        for (Point p : points) {
            for (double v : new double[] {p.score(), p.discriminability(), p.consistency()}) {
                if (!Double.isFinite(v)) continue;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (hi - lo < 1e-9) hi = lo + 1;
        double step = niceStep((hi - lo) / 5);
        lo = Math.floor(lo / step) * step;
        hi = Math.ceil(hi / step) * step;

        Canvas c = new Canvas(W, H);
        int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM, n = points.size();
        double x0 = LEFT + pw / (2.0 * n), dx = (double) pw / n;
        final double ylo = lo, yhi = hi;
        java.util.function.DoubleUnaryOperator y = v -> TOP + ph * (1 - (v - ylo) / (yhi - ylo));

        // group bands
        for (int i = 0; i < n; ) {
            int j = i;
            while (j < n && points.get(j).group().equals(points.get(i).group())) j++;
            Color gc = colour(groups, points.get(i).group());
            c.g.setColor(new Color(gc.getRed(), gc.getGreen(), gc.getBlue(), 28));
            c.g.fillRect((int) (LEFT + i * dx), TOP, (int) Math.ceil((j - i) * dx), ph);
            String label = points.get(i).group();
            int lw = Labels.width(c.g, label, TEXT);
            if (lw < (j - i) * dx) Labels.draw(c.g, label, (int) (LEFT + (i + j) * dx / 2 - lw / 2.0), TOP + ph + 20, TEXT, gc.darker());
            i = j;
        }
        // axes and grid
        c.g.setStroke(new BasicStroke(1f));
        for (double v = lo; v <= hi + step / 2; v += step) {
            int yy = (int) Math.round(y.applyAsDouble(v));
            c.g.setColor(new Color(0xdddddd));
            c.g.drawLine(LEFT, yy, LEFT + pw, yy);
            String t = fmt(v, step);
            Labels.draw(c.g, t, LEFT - 8 - Labels.width(c.g, t, TEXT - 1), yy + 5, TEXT - 1, Color.DARK_GRAY);
        }
        c.g.setColor(Color.BLACK);
        c.g.drawRect(LEFT, TOP, pw, ph);
        Labels.draw(c.g, title, LEFT, TOP - 18, TEXT + 3, Color.BLACK);
        Labels.draw(c.g, "taps in call order (depth) -> " + n + " taps", LEFT, H - 18, TEXT, Color.DARK_GRAY);

        // D and C as thin lines, s as a thick line with points
        line(c, points, x0, dx, y, Point::discriminability, new Color(0xff7f0e), 1.2f);
        line(c, points, x0, dx, y, Point::consistency, new Color(0x7f7f7f), 1.2f);
        line(c, points, x0, dx, y, Point::score, Color.BLACK, 2f);
        int best = 0;
        for (int i = 0; i < n; i++) {
            Point p = points.get(i);
            if (p.score() > points.get(best).score()) best = i;
            int px = (int) Math.round(x0 + i * dx), py = (int) Math.round(y.applyAsDouble(p.score()));
            c.g.setColor(colour(groups, p.group()));
            c.g.fillOval(px - 4, py - 4, 8, 8);
        }
        Point b = points.get(best);
        String name = b.tap() + String.format(Locale.ROOT, "  s=%.3f", b.score());
        int bx = (int) Math.round(x0 + best * dx), by = (int) Math.round(y.applyAsDouble(b.score()));
        int nw = Labels.width(c.g, name, TEXT - 1);
        Labels.draw(c.g, name, Math.clamp(bx - nw / 2, LEFT + 2, LEFT + pw - nw - 2), Math.max(TOP + 14, by - 10), TEXT - 1, Color.BLACK);

        // legend
        int lx = LEFT + pw - 250, ly = TOP + 16;
        legend(c, lx, ly, Color.BLACK, "s = D + C");
        legend(c, lx + 90, ly, new Color(0xff7f0e), "D");
        legend(c, lx + 150, ly, new Color(0x7f7f7f), "C");
        return c.toImage();
    }

    private static void line(Canvas c, List<Point> pts, double x0, double dx, java.util.function.DoubleUnaryOperator y,
                             java.util.function.ToDoubleFunction<Point> f, Color colour, float width) {
        c.g.setColor(colour);
        c.g.setStroke(new BasicStroke(width));
        for (int i = 1; i < pts.size(); i++) {
            double a = f.applyAsDouble(pts.get(i - 1)), b = f.applyAsDouble(pts.get(i));
            if (!Double.isFinite(a) || !Double.isFinite(b)) continue;
            c.g.drawLine((int) Math.round(x0 + (i - 1) * dx), (int) Math.round(y.applyAsDouble(a)),
                (int) Math.round(x0 + i * dx), (int) Math.round(y.applyAsDouble(b)));
        }
        c.g.setStroke(new BasicStroke(1f));
    }

    private static void legend(Canvas c, int x, int y, Color colour, String text) {
        c.g.setColor(colour);
        c.g.setStroke(new BasicStroke(2f));
        c.g.drawLine(x, y - 4, x + 18, y - 4);
        c.g.setStroke(new BasicStroke(1f));
        Labels.draw(c.g, text, x + 24, y, TEXT - 1, Color.BLACK);
    }

    private static Color colour(List<String> groups, String g) { return GROUP_COLOURS[groups.indexOf(g) % GROUP_COLOURS.length]; }

    static double niceStep(double raw) {
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double m = raw / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }

    private static String fmt(double v, double step) {
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step)));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
