package dev.stitch.engine.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of the optional keys of a JSON config (diffusers' and transformers' {@code config.json}): an absent or
 * null key takes the caller's default, as {@code from_pretrained} does; a present key of the wrong type is a
 * {@link UserError} naming the file and the key.
 */
public record JsonConfig(String origin, JsonNode root) {

    public static JsonConfig read(Path file) {
        return new JsonConfig(file.toString(), JsonFiles.readObject(file));
    }

    /** The value of {@code key}, or null when it is absent or JSON null. */
    public JsonNode node(String key) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? null : n;
    }

    /** A nested object such as {@code text_config}, or an empty one if absent (all defaults). */
    public JsonConfig object(String key) {
        JsonNode n = node(key);
        if (n == null) return new JsonConfig(origin + " " + key, JsonNodeFactory.instance.objectNode());
        if (!n.isObject()) throw wrong(key, "an object");
        return new JsonConfig(origin + " " + key, n);
    }

    /** The error for a {@code key} whose value is not {@code expected}. */
    public UserError wrong(String key, String expected) {
        return new UserError(origin + ": " + key + " must be " + expected + ", got " + root.get(key));
    }

    public int integer(String key, int dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrong(key, "an integer");
        return n.intValue();
    }

    public int positive(String key, int dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) throw wrong(key, "a positive integer");
        return n.intValue();
    }

    public double number(String key, double dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isNumber() || !Double.isFinite(n.doubleValue())) throw wrong(key, "a number");
        return n.doubleValue();
    }

    /** A layer norm's epsilon: a number in (0, 1). */
    public float epsilon(String key, double dflt) {
        double e = number(key, dflt);
        if (!(e > 0 && e < 1)) throw wrong(key, "a small positive number");
        return (float) e;
    }

    public boolean bool(String key, boolean dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw wrong(key, "true or false");
        return n.booleanValue();
    }

    public String string(String key, String dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isTextual()) throw wrong(key, "a string");
        return n.textValue();
    }

    public List<String> strings(String key, List<String> dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isArray()) throw wrong(key, "a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw wrong(key, "a list of strings");
            out.add(e.textValue());
        }
        return out;
    }

    public int[] integers(String key, int[] dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isArray()) throw wrong(key, "a list of integers");
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw wrong(key, "a list of integers");
            out[i] = e.intValue();
        }
        return out;
    }

    public float[] numbers(String key, int count, float[] dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isArray() || n.size() != count) throw wrong(key, "a list of " + count + " numbers");
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            if (!n.get(i).isNumber()) throw wrong(key, "a list of " + count + " numbers");
            out[i] = (float) n.get(i).doubleValue();
        }
        return out;
    }
}
