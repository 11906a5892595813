package dev.stitch.eval.metrics;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.util.Locale;
import java.util.Map;

/**
 * A weight-free concept metric: the share of an image's pixels whose colour is near a target hue, so a colour
 * concept ("red", "blue") can be measured without any model. A pixel counts when, in HSV, its hue lies within
 * {@code tolerance} degrees of {@code hue} (on the circle), its saturation is at least {@code minSaturation} and
 * its value at least {@code minValue} (greys and near-blacks have no meaningful hue).
 */
public record ColourShare(String target, double hue, double tolerance, double minSaturation, double minValue) {
    /** Hues of the colour names the experiment file accepts, in degrees. */
    public static final Map<String, Double> NAMED = Map.of("red", 0.0, "orange", 30.0, "yellow", 60.0, "green", 120.0,
        "cyan", 180.0, "blue", 240.0, "purple", 270.0, "magenta", 300.0);

    public ColourShare {
        if (!(hue >= 0 && hue < 360)) throw new UserError("colour hue " + hue + ": expected degrees in [0, 360)");
        if (!(tolerance > 0 && tolerance <= 180)) throw new UserError("colour tolerance " + tolerance + ": expected degrees in (0, 180]");
        if (!(minSaturation >= 0 && minSaturation <= 1)) throw new UserError("colour min_saturation " + minSaturation + ": expected [0, 1]");
        if (!(minValue >= 0 && minValue <= 1)) throw new UserError("colour min_value " + minValue + ": expected [0, 1]");
    }

    /** A named colour with the default thresholds: ±30°, saturation ≥ 0.35, value ≥ 0.2. */
    public static ColourShare named(String name) {
        Double h = NAMED.get(name.toLowerCase(Locale.ROOT));
        if (h == null) throw new UserError("colour '" + name + "': expected one of " + String.join(", ", new java.util.TreeSet<>(NAMED.keySet())) + " or a hue in degrees");
        return new ColourShare(name.toLowerCase(Locale.ROOT), h, 30, 0.35, 0.2);
    }

    /** The share of pixels near the target colour, in [0, 1]. */
    public double score(RgbImage img) {
        byte[] p = img.rgb();
        int n = img.width() * img.height(), hits = 0;
        for (int i = 0; i < n; i++)
            if (matches(p[3 * i] & 0xff, p[3 * i + 1] & 0xff, p[3 * i + 2] & 0xff)) hits++;
        return (double) hits / n;
    }

    boolean matches(int r, int g, int b) {
        int max = Math.max(r, Math.max(g, b)), min = Math.min(r, Math.min(g, b));
        if (max == 0 || max / 255.0 < minValue) return false;
        double delta = max - min;
        if (delta / max < minSaturation || delta == 0) return false;
        double h;
        if (max == r) h = 60 * (((g - b) / delta) % 6);
        else if (max == g) h = 60 * ((b - r) / delta + 2);
        else h = 60 * ((r - g) / delta + 4);
        if (h < 0) h += 360;
        double d = Math.abs(h - hue) % 360;
        return Math.min(d, 360 - d) <= tolerance;
    }

    public ObjectNode toJson() {
        return Jsonl.JSON.createObjectNode().put("target", target).put("hue", hue).put("tolerance", tolerance)
            .put("min_saturation", minSaturation).put("min_value", minValue);
    }
}
