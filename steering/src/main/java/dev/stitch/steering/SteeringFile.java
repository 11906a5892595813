package dev.stitch.steering;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A steering file (DESIGN §5): a safetensors file with one tensor per tap — the vector {@code TAP} as [C], or [S, C]
 * with one row per denoising step — and, for AcT transports, {@code TAP/omega}, {@code TAP/beta}, {@code TAP/lo},
 * {@code TAP/hi}. {@code __metadata__} says how it was made and how to apply it by default: method, operator,
 * strength, window, half, model identity, prompt-set hash. Any safetensors library reads it.
 */
public record SteeringFile(Map<String, String> metadata, Map<String, TapVector> taps) {
    /** What one tap gets: per-step rows of a vector, or per-step transports (rows = 1 when not per step). */
    public record TapVector(String tap, float[][] vectors, Transport[] transports) {
        public int channels() { return vectors != null ? vectors[0].length : transports[0].channels(); }

        public int steps() { return vectors != null ? vectors.length : transports.length; }

        /** The vector for denoising step {@code step} (rows beyond the last repeat it; step −1 = text encoder: row 0). */
        public float[] vector(int step) { return vectors[Math.clamp(step, 0, vectors.length - 1)]; }

        public Transport transport(int step) { return transports[Math.clamp(step, 0, transports.length - 1)]; }
    }

    public static final String METHOD = "method", OPERATOR = "operator", STRENGTH = "strength", WINDOW = "window",
        HALF = "half", MODEL = "model", PROMPTS = "prompt_set_sha256", FORMAT = "stitch_steering";
    private static final String[] ACT_PARTS = {"omega", "beta", "lo", "hi"};

    public void write(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(FORMAT, "1").metadata(metadata);
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
        if (!Files.isRegularFile(file)) throw new UserError("--steer " + file + ": no such file");
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
        return new SteeringFile(st.metadata(), taps);
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
}
