package dev.stitch.steering.plot;

import dev.stitch.engine.image.RgbImage;

import java.awt.Color;
import java.util.List;

/**
 * A grid of equally sized images with a title, a label per row (left) and per column (top): the picture a sweep
 * leaves. Small images are enlarged by an integer factor (nearest neighbour) so each cell is at least 128 pixels.
 * A null cell stays blank.
 */
public final class ImageGrid {
    private ImageGrid() {}

    static final int GAP = 4, TEXT = 13;

    public static RgbImage draw(String title, List<String> rowLabels, List<String> columnLabels, RgbImage[][] cells) {
        int rows = rowLabels.size(), cols = columnLabels.size();
        if (cells.length != rows) throw new IllegalArgumentException(cells.length + " rows of cells for " + rows + " labels");
        RgbImage any = null;
        for (RgbImage[] r : cells) {
            if (r.length != cols) throw new IllegalArgumentException(r.length + " cells in a row for " + cols + " column labels");
            for (RgbImage c : r) if (c != null && any == null) any = c;
        }
        if (any == null) throw new IllegalArgumentException("an empty grid");
        int iw = any.width(), ih = any.height();
        int scale = Math.max(1, (int) Math.ceil(128.0 / Math.min(iw, ih)));
        int cw = iw * scale, chh = ih * scale;

        Canvas probe = new Canvas(1, 1);
        int labelW = 0;
        for (String l : rowLabels) labelW = Math.max(labelW, Labels.width(probe.g, l, TEXT));
        int colLabelW = 0;
        for (String l : columnLabels) colLabelW = Math.max(colLabelW, Labels.width(probe.g, l, TEXT));
        cw = Math.max(cw, colLabelW);   // a long column label widens the column
        int left = labelW + 3 * GAP, top = 2 * (TEXT + 2 * GAP) + GAP;
        int width = left + cols * (cw + GAP) + GAP, height = top + rows * (chh + GAP) + GAP;
        width = Math.max(width, Labels.width(probe.g, title, TEXT + 2) + 2 * GAP);

        Canvas c = new Canvas(width, height);
        Labels.draw(c.g, title, GAP, TEXT + 2 * GAP, TEXT + 2, Color.BLACK);
        for (int j = 0; j < cols; j++) {
            int x = left + j * (cw + GAP);
            Labels.draw(c.g, columnLabels.get(j), x + (cw - Labels.width(c.g, columnLabels.get(j), TEXT)) / 2, top - GAP - 2, TEXT, Color.DARK_GRAY);
        }
        for (int i = 0; i < rows; i++) {
            int y = top + i * (chh + GAP);
            Labels.draw(c.g, rowLabels.get(i), GAP, y + chh / 2 + TEXT / 2, TEXT, Color.DARK_GRAY);
            for (int j = 0; j < cols; j++) {
                RgbImage img = cells[i][j];
                int x = left + j * (cw + GAP);
                if (img == null) continue;
                if (img.width() != iw || img.height() != ih)
                    throw new IllegalArgumentException("cell " + i + "," + j + " is " + img.width() + "x" + img.height() + ", not " + iw + "x" + ih);
                c.drawImage(img, x + (cw - iw * scale) / 2, y, scale);
            }
        }
        return c.toImage();
    }
}
