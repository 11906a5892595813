package dev.stitch.engine.text;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A small random CLIP text model against a plain double-precision forward written out here, plus loading and taps. */
class ClipTextModelTest {
    static final Ctx CTX = new Ctx(ReferenceBackend.INSTANCE);
    static final int VOCAB = 40, C = 8, HEADS = 2, FF = 20, LAYERS = 2, POSITIONS = 7;

    static ClipTextConfig config(String act) { return new ClipTextConfig(VOCAB, C, FF, LAYERS, HEADS, POSITIONS, 1e-5f, act, 2); }

    static Map<String, Tensor> randomWeights(long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("text_model.embeddings.token_embedding.weight", random(r, 1.0, VOCAB, C));
        w.put("text_model.embeddings.position_embedding.weight", random(r, 0.5, POSITIONS, C));
        for (int i = 0; i < LAYERS; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            for (String ln : List.of("layer_norm1", "layer_norm2")) {
                w.put(p + ln + ".weight", random(r, 0.2, 1.0, C));
                w.put(p + ln + ".bias", random(r, 0.2, C));
            }
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                w.put(p + "self_attn." + proj + ".weight", random(r, 0.5, C, C));
                w.put(p + "self_attn." + proj + ".bias", random(r, 0.2, C));
            }
            w.put(p + "mlp.fc1.weight", random(r, 0.5, FF, C));
            w.put(p + "mlp.fc1.bias", random(r, 0.2, FF));
            w.put(p + "mlp.fc2.weight", random(r, 0.3, C, FF));
            w.put(p + "mlp.fc2.bias", random(r, 0.2, C));
        }
        w.put("text_model.final_layer_norm.weight", random(r, 0.2, 1.0, C));
        w.put("text_model.final_layer_norm.bias", random(r, 0.2, C));
        return w;
    }

    static Tensor random(Random r, double std, int... shape) { return random(r, std, 0, shape); }

    static Tensor random(Random r, double std, double mean, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) (mean + std * r.nextGaussian());
        return Tensor.of(d, shape);
    }

    /** BOS 38, EOS 39 (the largest id, as in CLIP), pad 0. */
    static final int[][] IDS = {{38, 5, 17, 39, 0, 0, 0}, {38, 39, 0, 0, 0, 0, 0}, {38, 1, 2, 3, 4, 5, 39}};

    // ---- a plain forward, in double, straight from the layer math ----

    static double[][] reference(Map<String, Tensor> w, String act, int[] ids) {
        int l = ids.length, d = C / HEADS;
        double[][] x = new double[l][C];
        float[] tok = w.get("text_model.embeddings.token_embedding.weight").data();
        float[] pos = w.get("text_model.embeddings.position_embedding.weight").data();
        for (int j = 0; j < l; j++)
            for (int k = 0; k < C; k++) x[j][k] = tok[ids[j] * C + k] + pos[j * C + k];
        for (int i = 0; i < LAYERS; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            double[][] h = layerNorm(x, w, p + "layer_norm1");
            double[][] q = linear(h, w, p + "self_attn.q_proj"), k = linear(h, w, p + "self_attn.k_proj"),
                v = linear(h, w, p + "self_attn.v_proj");
            double[][] o = new double[l][C];
            for (int hd = 0; hd < HEADS; hd++)
                for (int a = 0; a < l; a++) {
                    double[] s = new double[a + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int b = 0; b <= a; b++) {
                        for (int e = 0; e < d; e++) s[b] += q[a][hd * d + e] * k[b][hd * d + e] / Math.sqrt(d);
                        max = Math.max(max, s[b]);
                    }
                    for (int b = 0; b <= a; b++) sum += s[b] = Math.exp(s[b] - max);
                    for (int b = 0; b <= a; b++)
                        for (int e = 0; e < d; e++) o[a][hd * d + e] += s[b] / sum * v[b][hd * d + e];
                }
            add(x, linear(o, w, p + "self_attn.out_proj"));
            double[][] m = linear(layerNorm(x, w, p + "layer_norm2"), w, p + "mlp.fc1");
            for (double[] row : m)
                for (int e = 0; e < row.length; e++) {
                    double z = row[e];
                    row[e] = act.equals("gelu") ? 0.5 * z * (1 + erf(z / Math.sqrt(2))) : z / (1 + Math.exp(-1.702 * z));
                }
            add(x, linear(m, w, p + "mlp.fc2"));
        }
        return layerNorm(x, w, "text_model.final_layer_norm");
    }

    static double[][] linear(double[][] x, Map<String, Tensor> w, String name) {
        Tensor wt = w.get(name + ".weight");
        float[] wd = wt.data(), b = w.get(name + ".bias").data();
        int out = wt.dim(0), in = wt.dim(1);
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++)
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) s += x[r][i] * wd[o * in + i];
                y[r][o] = s;
            }
        return y;
    }

    static double[][] layerNorm(double[][] x, Map<String, Tensor> w, String name) {
        float[] g = w.get(name + ".weight").data(), b = w.get(name + ".bias").data();
        double[][] y = new double[x.length][C];
        for (int r = 0; r < x.length; r++) {
            double mean = 0, var = 0;
            for (double v : x[r]) mean += v / C;
            for (double v : x[r]) var += (v - mean) * (v - mean) / C;
            for (int k = 0; k < C; k++) y[r][k] = (x[r][k] - mean) / Math.sqrt(var + 1e-5) * g[k] + b[k];
        }
        return y;
    }

    static void add(double[][] x, double[][] y) {
        for (int r = 0; r < x.length; r++)
            for (int k = 0; k < x[r].length; k++) x[r][k] += y[r][k];
    }

    /** erf by its Taylor series (|z| is small here), independent of the kernels' Erf. */
    static double erf(double z) {
        double sum = 0, term = z;
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -z * z / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    static double relL2(float[] got, int[][] ids, Map<String, Tensor> w, String act) {
        double num = 0, den = 0;
        for (int b = 0; b < ids.length; b++) {
            double[][] ref = reference(w, act, ids[b]);
            for (int j = 0; j < ids[b].length; j++)
                for (int k = 0; k < C; k++) {
                    float g = got[(b * ids[b].length + j) * C + k];
                    assertTrue(Float.isFinite(g));
                    num += (g - ref[j][k]) * (g - ref[j][k]);
                    den += ref[j][k] * ref[j][k];
                }
        }
        return Math.sqrt(num / den);
    }

    // ---- tests ----

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "quick_gelu"})
    void forwardMatchesPlainReference(String act) {
        Map<String, Tensor> w = randomWeights(1);
        ClipTextModel model = new ClipTextModel(config(act), Weights.of("text_encoder", "test", w));
        Tensor out = model.forward(CTX, IDS);
        assertArrayEquals(new int[] {3, POSITIONS, C}, out.shape());
        double err = relL2(out.data(), IDS, w, act);
        assertTrue(err < 1e-6, act + ": relative L2 error " + err);
    }

    @Test
    void quickGeluAndGeluDiffer() {
        Map<String, Tensor> w = randomWeights(2);
        float[] a = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", w)).forward(CTX, IDS).data();
        float[] b = new ClipTextModel(config("quick_gelu"), Weights.of("text_encoder", "test", w)).forward(CTX, IDS).data();
        double diff = 0;
        for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
        assertTrue(diff > 1e-3, "the activation setting has no effect: " + diff);
    }

    @Test
    void tapsAreCalledInOrderWithTheirNames() {
        ClipTextModel model = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", randomWeights(3)));
        List<String> seen = new ArrayList<>();
        Taps record = (name, layout, value, call) -> {
            assertEquals(TapLayout.NLC, layout);
            assertArrayEquals(new int[] {3, POSITIONS, C}, value.shape(), name);
            seen.add(name);
            return value;
        };
        float[] plain = model.forward(CTX, IDS).data();
        float[] tapped = model.forward(new Ctx(ReferenceBackend.INSTANCE, record), IDS).data();
        assertArrayEquals(plain, tapped, "observing taps changed the output");
        List<String> expected = new ArrayList<>(List.of("text_encoder.text_model.embeddings"));
        for (int i = 0; i < LAYERS; i++) {
            String p = "text_encoder.text_model.encoder.layers." + i;
            expected.addAll(List.of(p + ".layer_norm1", p + ".self_attn", p + ".layer_norm2", p + ".mlp", p));
        }
        expected.add("text_encoder.text_model.final_layer_norm");
        assertEquals(expected, seen);
    }

    @Test
    void anEditingTapChangesWhatFollows() {
        ClipTextModel model = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", randomWeights(4)));
        float[] plain = model.forward(CTX, IDS).data();
        Taps zeroMlp = (name, layout, value, call) ->
            name.equals("text_encoder.text_model.encoder.layers.1.mlp") ? CTX.ops().scale(value, 0f) : value;
        float[] edited = model.forward(new Ctx(ReferenceBackend.INSTANCE, zeroMlp), IDS).data();
        assertEquals(plain.length, edited.length);
        assertNotEquals(0, java.util.Arrays.compare(plain, edited));
    }

    @Test
    void poolTakesTheLargestIdOrTheFirstEosToken() {
        ClipTextModel legacy = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", randomWeights(5)));
        assertEquals(3, legacy.eosPosition(new int[] {38, 5, 17, 39, 39, 0}));  // largest id, first occurrence
        ClipTextModel explicit = new ClipTextModel(new ClipTextConfig(VOCAB, C, FF, LAYERS, HEADS, POSITIONS, 1e-5f, "gelu", 5),
            Weights.of("text_encoder", "test", randomWeights(5)));
        assertEquals(1, explicit.eosPosition(new int[] {38, 5, 17, 5, 0}));
        assertEquals(0, explicit.eosPosition(new int[] {38, 6, 17}));
    }

    @Test
    void loadsSingleFileShardsAndHalfPrecision(@TempDir Path dir) throws IOException {
        Map<String, Tensor> w = randomWeights(6);
        float[] expected = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", w)).forward(CTX, IDS).data();

        Path single = Files.createDirectories(dir.resolve("single"));
        writeConfig(single, "gelu");
        SafeTensorsWriter all = new SafeTensorsWriter();
        w.forEach(all::add);
        all.write(single.resolve("model.safetensors"));
        assertArrayEquals(expected, ClipTextModel.load(single).forward(CTX, IDS).data());

        Path sharded = Files.createDirectories(dir.resolve("sharded"));
        writeConfig(sharded, "gelu");
        SafeTensorsWriter a = new SafeTensorsWriter(), b = new SafeTensorsWriter();
        StringBuilder map = new StringBuilder();
        int n = 0;
        for (var e : w.entrySet()) {
            String file = n++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (n % 2 == 1 ? a : b).add(e.getKey(), e.getValue());
            map.append(map.isEmpty() ? "" : ",").append('"').append(e.getKey()).append("\":\"").append(file).append('"');
        }
        a.write(sharded.resolve("model-00001-of-00002.safetensors"));
        b.write(sharded.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), "{\"metadata\":{},\"weight_map\":{" + map + "}}");
        assertArrayEquals(expected, ClipTextModel.load(sharded).forward(CTX, IDS).data());

        // f16 weights widen exactly, so the result equals an f32 model built from the rounded weights.
        Path half = Files.createDirectories(dir.resolve("half"));
        writeConfig(half, "gelu");
        SafeTensorsWriter h = new SafeTensorsWriter();
        Map<String, Tensor> rounded = new LinkedHashMap<>();
        w.forEach((name, t) -> {
            h.add(name, t, DType.F16);
            float[] d = t.data().clone();
            for (int i = 0; i < d.length; i++) d[i] = DType.f16ToF32(DType.f32ToF16(d[i]));
            rounded.put(name, Tensor.of(d, t.shape()));
        });
        h.write(half.resolve("model.safetensors"));
        float[] fromHalf = ClipTextModel.load(half).forward(CTX, IDS).data();
        assertArrayEquals(new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", rounded)).forward(CTX, IDS).data(), fromHalf);
    }

    static void writeConfig(Path dir, String act) throws IOException {
        Files.writeString(dir.resolve("config.json"), """
            {"architectures": ["CLIPTextModel"], "hidden_act": "%s", "hidden_size": %d, "intermediate_size": %d,
             "layer_norm_eps": 1e-05, "max_position_embeddings": %d, "num_attention_heads": %d,
             "num_hidden_layers": %d, "vocab_size": %d, "eos_token_id": 2, "projection_dim": 512}
            """.formatted(act, C, FF, POSITIONS, HEADS, LAYERS, VOCAB));
    }

    // ---- bad input ----

    @Test
    void unsupportedActivationNamesTheKey(@TempDir Path dir) throws IOException {
        writeConfig(dir, "relu");
        UserError e = assertThrows(UserError.class, () -> ClipTextConfig.read(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains("hidden_act") && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void badConfigValuesNameTheKey(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": \"wide\"}");
        assertTrue(assertThrows(UserError.class, () -> ClipTextConfig.read(f)).getMessage().contains("hidden_size"));
        Files.writeString(f, "{\"hidden_size\": 30, \"num_attention_heads\": 4}");
        assertTrue(assertThrows(UserError.class, () -> ClipTextConfig.read(f)).getMessage().contains("num_attention_heads"));
        Files.writeString(f, "{\"num_hidden_layers\": 0}");
        assertTrue(assertThrows(UserError.class, () -> ClipTextConfig.read(f)).getMessage().contains("num_hidden_layers"));
        Files.writeString(f, "{\"layer_norm_eps\": -1}");
        assertTrue(assertThrows(UserError.class, () -> ClipTextConfig.read(f)).getMessage().contains("layer_norm_eps"));
        Files.writeString(f, "{not json");
        assertTrue(assertThrows(UserError.class, () -> ClipTextConfig.read(f)).getMessage().contains("config.json"));
    }

    @Test
    void defaultsAreTransformers(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        assertEquals(new ClipTextConfig(49408, 512, 2048, 12, 8, 77, 1e-5f, "quick_gelu", 49407),
            ClipTextConfig.read(dir.resolve("config.json")));
    }

    @Test
    void missingFilesAndTensorsAreNamed(@TempDir Path dir) throws IOException {
        assertTrue(assertThrows(UserError.class, () -> ClipTextModel.load(dir)).getMessage().contains("config.json"));
        writeConfig(dir, "gelu");
        assertTrue(assertThrows(UserError.class, () -> ClipTextModel.load(dir)).getMessage().contains("model.safetensors"));
        Map<String, Tensor> w = randomWeights(7);
        w.remove("text_model.encoder.layers.1.mlp.fc2.bias");
        SafeTensorsWriter out = new SafeTensorsWriter();
        w.forEach(out::add);
        out.write(dir.resolve("model.safetensors"));
        assertTrue(assertThrows(UserError.class, () -> ClipTextModel.load(dir)).getMessage()
            .contains("text_model.encoder.layers.1.mlp.fc2.bias"));
    }

    @Test
    void idsOutsideTheModelAreUserErrors() {
        ClipTextModel model = new ClipTextModel(config("gelu"), Weights.of("text_encoder", "test", randomWeights(8)));
        assertThrows(UserError.class, () -> model.forward(CTX, new int[][] {{1, VOCAB}}));
        assertThrows(UserError.class, () -> model.forward(CTX, new int[][] {new int[POSITIONS + 1]}));
    }
}
