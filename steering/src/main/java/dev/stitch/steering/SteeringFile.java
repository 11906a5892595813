package dev.stitch.steering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A steering file (docs/design.md §7): a safetensors file with one tensor per tap — the vector {@code TAP} as [C], or
 * [S, C] with one row per recorded denoising step — and, for AcT transports, {@code TAP/omega}, {@code TAP/beta},
 * {@code TAP/lo}, {@code TAP/hi}. {@code __metadata__} says how it was made and how to apply it by default: method,
 * operator, strength, window, half, model identity, prompt-set hash ({@code docs/steering.md} lists every key). Any
 * safetensors library reads it.
 */
public record SteeringFile(Map<String, String> metadata, Map<String, TapVector> taps) {
    /**
     * What one tap gets: per-step rows of a vector, or per-step transports (one row when not per step).
     * {@code rowSteps} is the denoising step of each row; null means row k is step k.
     */
    public record TapVector(String tap, float[][] vectors, Transport[] transports, int[] rowSteps) {
        public TapVector(String tap, float[][] vectors, Transport[] transports) { this(tap, vectors, transports, null); }

        public int channels() { return vectors != null ? vectors[0].length : transports[0].channels(); }

        public int steps() { return vectors != null ? vectors.length : transports.length; }

        /**
         * The row for denoising step {@code step}: the last row recorded at or before it (the first row before the
         * first recorded step; step −1, the text encoder, gets row 0).
         */
        int row(int step) {
            int rows = steps();
            if (rowSteps == null) return Math.clamp(step, 0, rows - 1);
            int r = 0;
            for (int i = 0; i < rowSteps.length; i++) if (rowSteps[i] <= step) r = i;
            return r;
        }

        public float[] vector(int step) { return vectors[row(step)]; }

        public Transport transport(int step) { return transports[row(step)]; }
    }

    public static final String METHOD = "method", OPERATOR = "operator", STRENGTH = "strength", WINDOW = "window",
        HALF = "half", MODEL = "model", MODEL_SHA = "model_config_sha256", PROMPTS = "prompt_set_sha256",
        STEPS = "vector_steps", SCORES = "layer_scores", FORMAT = "stitch_steering";
    private static final String[] ACT_PARTS = {"omega", "beta", "lo", "hi"};

    /**
     * The model identity written into a steering file: the folder's name and the SHA-256 of its text-encoder and UNet
     * configs (the files that fix every tap's shape). A single-file checkpoint has no config files: its identity is
     * its file name alone, and the config check is skipped where it is used.
     */
    public static Map<String, String> modelIdentity(Path modelDir) {
        if (Files.isRegularFile(modelDir)) return Map.of(MODEL, modelDir.getFileName().toString());
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String f : new String[] {"text_encoder/config.json", "unet/config.json"}) md.update(Files.readAllBytes(modelDir.resolve(f)));
            Path name = modelDir.toAbsolutePath().normalize().getFileName();
            Map<String, String> id = new LinkedHashMap<>();   // a fixed order: files must be identical byte for byte
            id.put(MODEL, name == null ? "" : name.toString());
            id.put(MODEL_SHA, HexFormat.of().formatHex(md.digest()));
            return id;
        } catch (IOException e) {
            throw new UserError(modelDir + ": cannot read the model configs (" + e.getMessage() + ")");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Layer scores as the {@value #SCORES} metadata value: {@code {"tap": {"D": .., "C": .., "s": ..}, ...}}. */
    public static String scoresJson(Map<String, LayerScore> scores) {
        ObjectNode root = JSON.createObjectNode();
        scores.forEach((tap, sc) -> root.putObject(tap).put("D", sc.discriminability()).put("C", sc.consistency()).put("s", sc.score()));
        return root.toString();
    }

    /** The layer scores recorded at extraction, in tap order; empty if the file has none. */
    public Map<String, LayerScore> layerScores() { return layerScores(null); }

    private Map<String, LayerScore> layerScores(Path file) {
        Map<String, LayerScore> out = new LinkedHashMap<>();
        String json = metadata.get(SCORES);
        if (json == null) return out;
        String where = (file == null ? "steering file" : file.toString()) + ": metadata '" + SCORES + "'";
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || !root.isObject()) throw new UserError(where + " is not a JSON object");
            for (var it = root.fields(); it.hasNext(); ) {
                var e = it.next();
                out.put(e.getKey(), new LayerScore(number(e.getValue(), "D", where), number(e.getValue(), "C", where)));
            }
        } catch (IOException e) {
            throw new UserError(where + " is not valid JSON");
        }
        return out;
    }

    /** A score component: a JSON number, or a string Jackson wrote for NaN or an infinity (refused by the reader). */
    private static double number(JsonNode score, String key, String where) {
        JsonNode v = score.path(key);
        if (v.isNumber()) return v.asDouble();
        if (v.isTextual()) return switch (v.asText()) {
            case "NaN" -> Double.NaN;
            case "Infinity" -> Double.POSITIVE_INFINITY;
            case "-Infinity" -> Double.NEGATIVE_INFINITY;
            default -> throw new UserError(where + ": '" + key + "' = '" + v.asText() + "' is not a number");
        };
        throw new UserError(where + ": a score lacks its number '" + key + "'");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    public void write(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(FORMAT, "1").metadata(metadata);
        taps.values().stream().filter(t -> t.rowSteps() != null && t.steps() > 1).findFirst().ifPresent(t ->
            w.metadata(STEPS, String.join(",", Arrays.stream(t.rowSteps()).mapToObj(Integer::toString).toList())));
        for (TapVector t : taps.values()) {
            int s = t.steps(), c = t.channels();
            if (t.vectors() != null) w.addF32(t.tap(), flatten(t.vectors()), s == 1 ? new int[] {c} : new int[] {s, c});
            else
                for (String part : ACT_PARTS) {
                    float[][] rows = new float[s][];
                    for (int k = 0; k < s; k++) rows[k] = switch (part) {
                        case "omega" -> t.transports()[k].omega();
                        case "beta" -> t.transports()[k].beta();
                        case "lo" -> t.transports()[k].lo();
                        default -> t.transports()[k].hi();
                    };
                    w.addF32(t.tap() + "/" + part, flatten(rows), s == 1 ? new int[] {c} : new int[] {s, c});
                }
        }
        w.write(file);
    }

    public static SteeringFile read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such steering file");
        SafeTensors st = SafeTensors.open(file);
        if (!st.metadata().containsKey(FORMAT))
            throw new UserError(file + ": not a Stitch steering file (no '" + FORMAT + "' in its metadata)");
        Map<String, TapVector> taps = new LinkedHashMap<>();
        for (String name : st.names()) {
            int slash = name.lastIndexOf('/');
            String tap = slash < 0 ? name : name.substring(0, slash);
            if (taps.containsKey(tap)) continue;
            if (slash < 0) taps.put(tap, new TapVector(tap, rows(st, name), null));
            else {
                float[][][] parts = new float[4][][];
                for (int i = 0; i < 4; i++) {
                    String n = tap + "/" + ACT_PARTS[i];
                    if (!st.contains(n)) throw new UserError(file + ": transport for tap '" + tap + "' lacks tensor '" + n + "'");
                    parts[i] = rows(st, n);
                }
                Transport[] tr = new Transport[parts[0].length];
                for (int k = 0; k < tr.length; k++) tr[k] = new Transport(parts[0][k], parts[1][k], parts[2][k], parts[3][k]);
                taps.put(tap, new TapVector(tap, null, tr));
            }
        }
        if (taps.isEmpty()) throw new UserError(file + ": the steering file has no vectors");
        checkFinite(file, st.metadata(), taps);
        int[] rowSteps = rowSteps(st.metadata().get(STEPS), file);
        for (var e : taps.entrySet()) {
            TapVector v = e.getValue();
            if (v.steps() == 1 || rowSteps == null) continue;
            if (v.steps() != rowSteps.length)
                throw new UserError(file + ": tap '" + v.tap() + "' has " + v.steps() + " rows but '" + STEPS + "' lists " + rowSteps.length + " steps");
            e.setValue(new TapVector(v.tap(), v.vectors(), v.transports(), rowSteps));
        }
        return new SteeringFile(st.metadata(), taps);
    }

    /**
     * NaN or an infinity in a vector, a transport's map or the default strength would turn steered values into NaN
     * (a black image) without a word: refused by name. Only a transport's support may be infinite (Mean-AcT's is).
     */
    private static void checkFinite(Path file, Map<String, String> metadata, Map<String, TapVector> taps) {
        for (TapVector v : taps.values()) {
            if (v.vectors() != null) for (float[] row : v.vectors()) checkFinite(file, v.tap(), row);
            else
                for (Transport t : v.transports()) {
                    checkFinite(file, v.tap() + "/omega", t.omega());
                    checkFinite(file, v.tap() + "/beta", t.beta());
                    for (int j = 0; j < t.channels(); j++)
                        if (Float.isNaN(t.lo()[j]) || Float.isNaN(t.hi()[j]))
                            throw new UserError(file + ": tensor '" + v.tap() + "/" + (Float.isNaN(t.lo()[j]) ? "lo" : "hi") + "' holds NaN at channel " + j);
                }
        }
        String strength = metadata.get(STRENGTH);
        if (strength != null) {
            float f;
            try {
                f = Float.parseFloat(strength);
            } catch (NumberFormatException e) {
                throw new UserError(file + ": metadata '" + STRENGTH + "' = '" + strength + "' is not a number");
            }
            if (!Float.isFinite(f)) throw new UserError(file + ": metadata '" + STRENGTH + "' = '" + strength + "' is not a finite number");
        }
        SteeringFile f = new SteeringFile(metadata, taps);
        for (var e : f.layerScores(file).entrySet())
            if (!Double.isFinite(e.getValue().discriminability()) || !Double.isFinite(e.getValue().consistency()))
                throw new UserError(file + ": metadata '" + SCORES + "' gives tap '" + e.getKey() + "' a score that is not a finite number");
    }

    private static void checkFinite(Path file, String tensor, float[] x) {
        for (int j = 0; j < x.length; j++)
            if (!Float.isFinite(x[j])) throw new UserError(file + ": tensor '" + tensor + "' holds " + x[j] + " at index " + j + "; steering values must be finite");
    }

    private static int[] rowSteps(String text, Path file) {
        if (text == null || text.isBlank()) return null;
        try {
            return Arrays.stream(text.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UserError(file + ": metadata '" + STEPS + "' = '" + text + "' is not a comma-separated list of steps");
        }
    }

    private static float[][] rows(SafeTensors st, String name) {
        Tensor t = st.tensor(name);
        if (t.rank() != 1 && t.rank() != 2)
            throw new UserError(st.file() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected [C] or [S, C]");
        float[] d = t.data();
        int c = t.dim(-1), s = t.rank() == 1 ? 1 : t.dim(0);
        float[][] out = new float[s][];
        for (int k = 0; k < s; k++) out[k] = Arrays.copyOfRange(d, k * c, (k + 1) * c);
        return out;
    }

    private static float[] flatten(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int k = 0; k < rows.length; k++) System.arraycopy(rows[k], 0, out, k * rows[0].length, rows[0].length);
        return out;
    }

    public String meta(String key, String fallback) { return metadata.getOrDefault(key, fallback); }

    /**
     * One line per tap, what {@code stitch extract} prints: channels, the size of the edit — the vector's norm
     * {@code |v|}, or for a transport the mean {@code |ω − 1|} and mean {@code |β|} over channels — and the layer
     * score. Per-step files show their first row.
     */
    public String table() {
        int w = Math.max(3, taps.keySet().stream().mapToInt(String::length).max().orElse(3));
        Map<String, LayerScore> scores = layerScores();
        boolean transport = taps.values().iterator().next().vectors() == null;
        StringBuilder s = new StringBuilder(transport
            ? String.format("%-" + w + "s  %8s  %10s  %10s  %8s%n", "tap", "channels", "mean|w-1|", "mean|b|", "score")
            : String.format("%-" + w + "s  %8s  %10s  %8s%n", "tap", "channels", "|v|", "score"));
        for (TapVector v : taps.values()) {
            LayerScore sc = scores.get(v.tap());
            double score = sc == null ? Double.NaN : sc.score();
            if (transport) {
                Transport t = v.transport(0);
                double dw = 0, b = 0;
                for (int j = 0; j < t.channels(); j++) {
                    dw += Math.abs(t.omega()[j] - 1.0) / t.channels();
                    b += Math.abs(t.beta()[j]) / t.channels();
                }
                s.append(String.format(Locale.ROOT, "%-" + w + "s  %8d  %10.4g  %10.4g  %8.3f%n", v.tap(), v.channels(), dw, b, score));
            } else {
                double n = 0;
                for (float x : v.vector(0)) n += (double) x * x;
                s.append(String.format(Locale.ROOT, "%-" + w + "s  %8d  %10.4g  %8.3f%n", v.tap(), v.channels(), Math.sqrt(n), score));
            }
        }
        return s.toString();
    }
}
