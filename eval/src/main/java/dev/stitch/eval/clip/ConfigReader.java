package dev.stitch.eval.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Typed reads of optional keys of a transformers JSON config; a present key of the wrong type is an error naming it. */
record ConfigReader(String origin, JsonNode root) {

    static ConfigReader read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such file");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UserError(file + ": not valid JSON (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) throw new UserError(file + ": expected a JSON object");
        return new ConfigReader(file.toString(), root);
    }

    JsonNode node(String key) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? null : n;
    }

    /** A nested object such as {@code text_config}, or an empty one if absent (all defaults). */
    ConfigReader object(String key) {
        JsonNode n = node(key);
        if (n == null) return new ConfigReader(origin + " " + key, JsonNodeFactory.instance.objectNode());
        if (!n.isObject()) throw wrong(key, "an object");
        return new ConfigReader(origin + " " + key, n);
    }

    UserError wrong(String key, String expected) {
        return new UserError(origin + ": " + key + " must be " + expected + ", got " + root.get(key));
    }

    int positive(String key, int dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) throw wrong(key, "a positive integer");
        return n.intValue();
    }

    int integer(String key, int dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrong(key, "an integer");
        return n.intValue();
    }

    double number(String key, double dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isNumber() || !Double.isFinite(n.doubleValue())) throw wrong(key, "a number");
        return n.doubleValue();
    }

    boolean bool(String key, boolean dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw wrong(key, "true or false");
        return n.booleanValue();
    }

    String string(String key, String dflt) {
        JsonNode n = node(key);
        if (n == null) return dflt;
        if (!n.isTextual()) throw wrong(key, "a string");
        return n.textValue();
    }

    float[] numbers(String key, int count, float[] dflt) {
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
