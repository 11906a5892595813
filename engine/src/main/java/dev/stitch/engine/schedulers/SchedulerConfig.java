package dev.stitch.engine.schedulers;

import dev.stitch.engine.io.JsonFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A model's {@code scheduler/scheduler_config.json}, read with diffusers' {@code from_config} meaning: the keys
 * present there apply to whichever scheduler is chosen, every other setting takes that scheduler's own default
 * (each getter is given it), and keys a scheduler does not know are ignored. Immutable; {@link #with} gives a copy
 * with one key set, which is how a request's spacing and prediction are applied.
 */
public final class SchedulerConfig {
    // diffusers writes -Infinity for lambda_min_clipped, as Python's json module does.
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private final ObjectNode values;
    private final String source;

    private SchedulerConfig(ObjectNode values, String source) {
        this.values = values;
        this.source = source;
    }

    /** No keys at all: every scheduler takes diffusers' defaults. */
    public static SchedulerConfig empty() { return new SchedulerConfig(JsonNodeFactory.instance.objectNode(), "scheduler config"); }

    /** Reads {@code file}; a missing or malformed file is a {@link UserError} naming it. */
    public static SchedulerConfig read(Path file) {
        return new SchedulerConfig((ObjectNode) JsonFiles.readObject(file), file.toString());
    }

    /** Parses JSON text (for tests and for configs that do not come from a file). */
    public static SchedulerConfig parse(String json) {
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || !root.isObject()) throw new UserError("scheduler config: expected a JSON object");
            return new SchedulerConfig((ObjectNode) root, "scheduler config");
        } catch (JsonProcessingException e) {
            throw new UserError("scheduler config: not valid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    /** A copy with {@code key} set to {@code value} (a String, Boolean, Integer, Double or null). */
    public SchedulerConfig with(String key, Object value) {
        ObjectNode copy = values.deepCopy();
        switch (value) {
            case null -> copy.putNull(key);
            case String s -> copy.put(key, s);
            case Boolean b -> copy.put(key, b);
            case Integer i -> copy.put(key, i);
            case Double d -> copy.put(key, d);
            default -> throw new IllegalArgumentException("unsupported config value type " + value.getClass());
        }
        return new SchedulerConfig(copy, source);
    }

    /** A copy with {@code timestep_spacing} set to {@code spacing}. */
    public SchedulerConfig withTimestepSpacing(TimestepSpacing spacing) { return with("timestep_spacing", spacing.label); }

    /** A copy with {@code prediction_type} set to {@code prediction}. */
    public SchedulerConfig withPrediction(Prediction prediction) { return with("prediction_type", prediction.diffusers); }

    /** The configured {@code timestep_spacing}, or {@code fallback} (the scheduler's own default) when it sets none. */
    public TimestepSpacing timestepSpacing(TimestepSpacing fallback) {
        String v = string("timestep_spacing", null);
        if (v == null) return fallback;
        TimestepSpacing t = TimestepSpacing.fromLabel(v);
        if (t == null) throw unsupported("timestep_spacing", '"' + v + '"', "expected leading, linspace or trailing");
        return t;
    }

    /** The configured {@code prediction_type}; epsilon when it sets none, as in diffusers. */
    public Prediction prediction() {
        String v = string("prediction_type", null);
        if (v == null) return Prediction.EPSILON;
        Prediction p = Prediction.fromDiffusers(v);
        if (p == null) throw unsupported("prediction_type", '"' + v + '"', "expected epsilon or v_prediction");
        return p;
    }

    /** Where the values came from, for messages. */
    public String source() { return source; }

    /** The {@code _class_name} diffusers stored (the scheduler the model ships with), or null. */
    public String className() { return has("_class_name") ? values.get("_class_name").asText() : null; }

    /** True if the key is present with a non-null value. */
    public boolean has(String key) { return values.hasNonNull(key); }

    public int integer(String key, int fallback) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw bad(key, v, "an integer");
        return v.intValue();
    }

    public double number(String key, double fallback) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw bad(key, v, "a number");
        return v.doubleValue();
    }

    public boolean bool(String key, boolean fallback) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw bad(key, v, "true or false");
        return v.booleanValue();
    }

    public String string(String key, String fallback) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw bad(key, v, "a string");
        return v.textValue();
    }

    /** A list of numbers, or null when the key is absent or null. */
    public double[] numbers(String key) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw bad(key, v, "a list of numbers");
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) throw bad(key, v, "a list of numbers");
            out[i] = v.get(i).doubleValue();
        }
        return out;
    }

    /** One of {@code allowed} (the first is the scheduler's default). */
    String choice(String key, String... allowed) {
        String v = string(key, allowed[0]);
        if (!Arrays.asList(allowed).contains(v)) throw unsupported(key, '"' + v + '"', "expected " + String.join(" or ", allowed));
        return v;
    }

    /** Refuses a setting this engine does not implement unless it has the value that needs nothing. */
    void requireBool(String key, boolean fallback, boolean supported) {
        if (bool(key, fallback) != supported) throw unsupported(key, String.valueOf(!supported), "only " + supported + " is supported");
    }

    UserError unsupported(String key, String value, String what) {
        return new UserError(source + ": '" + key + "' = " + value + " is not supported (" + what + ")");
    }

    private UserError bad(String key, JsonNode v, String expected) {
        return new UserError(source + ": '" + key + "' must be " + expected + ", got " + v);
    }

    @Override
    public String toString() { return source + " " + values; }
}
