package dev.stitch.eval.report;

import dev.stitch.eval.run.RunFolder;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;

/**
 * Renders a {@link Report} as one self-contained HTML file: inline CSS, plots as inline SVG, no JavaScript and no
 * external resources. Images are referenced relative to the run folder ({@code images/…}), or inlined as data
 * URLs so the file can travel alone. The markup is also well-formed XML (every element closed, only XML's
 * entities), which keeps it easy to check.
 */
public final class ReportHtml {
    private ReportHtml() {}

    private static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

    /** Writes {@code runDir/report.html} atomically and returns its path. */
    public static Path write(Report r, Path runDir, boolean inlineImages) {
        Path out = runDir.resolve(RunFolder.REPORT);
        RunFolder.writeAtomically(out, render(r, runDir, inlineImages).getBytes(StandardCharsets.UTF_8));
        return out;
    }

    public static String render(Report r, Path runDir, boolean inlineImages) {
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
        h.append("<title>").append(esc(r.title())).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        h.append("<h1>").append(esc(r.title())).append("</h1>\n");
        if (!r.settings().isEmpty()) {
            h.append("<section id=\"settings\">\n<h2>Settings</h2>\n<table class=\"settings\">\n<tbody>\n");
            for (Report.Setting s : r.settings())
                h.append("<tr><th>").append(esc(s.key())).append("</th><td>").append(esc(s.value())).append("</td></tr>\n");
            h.append("</tbody>\n</table>\n</section>\n");
        }
        if (!r.tables().isEmpty()) {
            h.append("<section id=\"metrics\">\n<h2>Metrics</h2>\n");
            for (Report.Table t : r.tables()) table(h, t);
            h.append("</section>\n");
        }
        if (!r.plots().isEmpty()) {
            h.append("<section id=\"plots\">\n<h2>Plots</h2>\n");
            for (Report.Plot p : r.plots()) h.append("<figure class=\"plot\">\n").append(SvgPlot.render(p, PALETTE)).append("</figure>\n");
            h.append("</section>\n");
        }
        if (!r.grids().isEmpty()) {
            h.append("<section id=\"images\">\n<h2>Images</h2>\n");
            for (Report.Grid g : r.grids()) grid(h, g, runDir, inlineImages);
            h.append("</section>\n");
        }
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    private static void table(StringBuilder h, Report.Table t) {
        h.append("<table class=\"metrics\">\n<caption>").append(esc(t.title())).append("</caption>\n<thead>\n<tr><th>setup</th>");
        for (String c : t.columns()) h.append("<th>").append(esc(c)).append("</th>");
        h.append("</tr>\n</thead>\n<tbody>\n");
        for (Report.Row row : t.rows()) {
            if (row.cells().size() != t.columns().size())
                throw new IllegalArgumentException("table '" + t.title() + "', row '" + row.label() + "': " + row.cells().size()
                    + " cells for " + t.columns().size() + " columns");
            h.append("<tr><th>").append(esc(row.label())).append("</th>");
            for (Report.Cell c : row.cells()) h.append("<td>").append(cell(c)).append("</td>");
            h.append("</tr>\n");
        }
        h.append("</tbody>\n</table>\n");
        if (t.note() != null && !t.note().isBlank()) h.append("<p class=\"note\">").append(esc(t.note())).append("</p>\n");
    }

    static String cell(Report.Cell c) {
        if (c == null) return "<span class=\"na\">\u2014</span>";
        StringBuilder s = new StringBuilder("<span class=\"v\">").append(num(c.value())).append("</span>");
        if (c.low() != null && c.high() != null)
            s.append(" <span class=\"ci\">[").append(num(c.low())).append(", ").append(num(c.high())).append("]</span>");
        if (c.std() != null) s.append(" <span class=\"ci\">\u00b1 ").append(num(c.std())).append("</span>");
        if (c.n() != null) s.append(" <span class=\"n\">n=").append(c.n()).append("</span>");
        return s.toString();
    }

    /**
     * One prompt's images side by side: a column per setup (its label on top), a row per image index, so the
     * baseline and each steered image made from the same seed sit next to each other.
     */
    private static void grid(StringBuilder h, Report.Grid g, Path runDir, boolean inline) {
        h.append("<div class=\"grid\">\n<p class=\"prompt\">").append(esc(g.prompt())).append("</p>\n");
        int columns = g.rows().size(), depth = g.rows().stream().mapToInt(r -> r.images().size()).max().orElse(0);
        h.append("<div class=\"images\" style=\"grid-template-columns: repeat(").append(columns).append(", max-content)\">\n");
        for (Report.GridRow row : g.rows()) h.append("<span class=\"label\">").append(esc(row.label())).append("</span>");
        h.append('\n');
        for (int k = 0; k < depth; k++) {
            for (Report.GridRow row : g.rows()) {
                if (k >= row.images().size()) {
                    h.append("<span class=\"na\"></span>");
                    continue;
                }
                String img = row.images().get(k);
                h.append("<img src=\"").append(esc(inline ? dataUrl(runDir, img) : img)).append("\" alt=\"")
                    .append(esc(row.label() + ": " + img)).append("\" loading=\"lazy\"/>");
            }
            h.append('\n');
        }
        h.append("</div>\n</div>\n");
    }

    /** The image as a data URL; the path must stay inside the run folder. */
    static String dataUrl(Path runDir, String relative) {
        Path base = runDir.toAbsolutePath().normalize(), file = base.resolve(relative).normalize();
        if (!file.startsWith(base)) throw new UserError("report image " + relative + " is outside the run folder");
        String n = relative.toLowerCase(Locale.ROOT);
        String mime = n.endsWith(".png") ? "image/png" : n.endsWith(".jpg") || n.endsWith(".jpeg") ? "image/jpeg"
            : n.endsWith(".webp") ? "image/webp" : null;
        if (mime == null) throw new UserError("report image " + relative + ": expected .png, .jpg or .webp");
        try {
            return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UserError("report image " + file + " cannot be read (" + e.getMessage() + ")");
        }
    }

    /** Text for element content and attribute values (double-quoted). */
    static String esc(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    // control characters are not allowed in XML 1.0 (and never meant anything in a prompt)
                    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') b.append('\uFFFD');
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }

    /** A number with about four significant digits and no trailing zeros. */
    static String num(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "\u221e" : "\u2212\u221e";
        if (v == 0) return "0";
        double a = Math.abs(v);
        String s = a >= 1e6 || a < 1e-4 ? String.format(Locale.ROOT, "%.3e", v)
            : new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
        return s.replace("-", "\u2212");
    }

    private static final String CSS = """
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
        table { border-collapse: collapse; margin: 1em 0; }
        th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
        table.metrics td { font-variant-numeric: tabular-nums; white-space: nowrap; }
        caption { text-align: left; font-weight: 600; padding-bottom: .3em; }
        .ci, .n { color: #666; font-size: .9em; } .na { color: #aaa; } .note { color: #555; font-size: .9em; }
        table.settings td { white-space: pre-wrap; word-break: break-word; }
        figure.plot { margin: 1em 0; } svg text { font: 12px system-ui, sans-serif; fill: #222; }
        .grid { margin: 1.5em 0; } .prompt { font-style: italic; white-space: pre-wrap; }
        .images { display: grid; gap: 4px; align-items: start; overflow-x: auto; }
        .images .label { width: 160px; font-size: .9em; color: #444; overflow-wrap: anywhere; }
        .images img { width: 160px; height: auto; image-rendering: auto; border: 1px solid #ccc; }
        """;
}
