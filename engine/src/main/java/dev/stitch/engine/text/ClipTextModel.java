package dev.stitch.engine.text;

import dev.stitch.engine.io.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.engine.nn.LayerNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * transformers' {@code CLIPTextModel} (weights under {@code text_model.}): token + position embeddings, pre-LN causal
 * transformer layers, final layer norm. Its output {@code last_hidden_state} is what SD2 feeds the UNet: diffusers
 * ships SD2's 24-layer OpenCLIP tower with 23 layers, so the full forward is the "penultimate layer" SD2 was trained
 * on, and the final layer norm is applied to it as in SD2.
 *
 * <p>Taps (all [B, L, C]): {@code text_encoder.text_model.embeddings}, per layer N
 * {@code text_encoder.text_model.encoder.layers.N} and its {@code .layer_norm1}, {@code .self_attn},
 * {@code .layer_norm2}, {@code .mlp}, and {@code text_encoder.text_model.final_layer_norm}.
 */
public final class ClipTextModel {
    public static final String COMPONENT = "text_encoder";

    public final ClipTextConfig config;
    private final Weights weights;
    final Tensor tokenEmbedding, positionEmbedding;
    final String embeddingsName, finalLayerNormName;
    final List<ClipEncoderLayer> layers = new ArrayList<>();
    final LayerNorm finalLayerNorm;

    /**
     * From weights already open or in memory, named as in diffusers' {@code text_encoder/model.safetensors} (or, for
     * the text tower of a {@code CLIPModel}, its weights, which hold {@code text_model.} the same way).
     */
    public ClipTextModel(ClipTextConfig config, Weights w) {
        this.config = config;
        this.weights = w;
        int c = config.hiddenSize();
        Weights tm = w.pp("text_model"), emb = tm.pp("embeddings");
        embeddingsName = emb.tapName();
        tokenEmbedding = emb.pp("token_embedding").get("weight", config.vocabSize(), c);
        positionEmbedding = emb.pp("position_embedding").get("weight", config.maxPositionEmbeddings(), c);
        for (int i = 0; i < config.numHiddenLayers(); i++)
            layers.add(new ClipEncoderLayer(tm.pp("encoder").pp("layers").pp(i), c, config.intermediateSize(),
                config.numAttentionHeads(), config.hiddenAct(), config.layerNormEps(), true));
        finalLayerNorm = new LayerNorm(tm.pp("final_layer_norm"), c, config.layerNormEps());
        finalLayerNormName = tm.pp("final_layer_norm").tapName();
    }

    /** {@link #load(Path, String)} with the default weights (else the only variant there is). */
    public static ClipTextModel load(Path dir) { return load(dir, null); }

    /**
     * Reads a diffusers {@code text_encoder/} folder: {@code config.json} and {@code model.safetensors}, or the
     * shards listed by {@code model.safetensors.index.json}, in {@code variant} (null: the default) as
     * {@link WeightFiles} chooses. Weights stay memory-mapped in their file dtype.
     */
    public static ClipTextModel load(Path dir, String variant) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": no such text encoder folder");
        ClipTextConfig config = ClipTextConfig.read(dir.resolve("config.json"));
        Path file = WeightFiles.find(dir, variant);
        SafeTensors[] files = file.getFileName().toString().endsWith(".json") ? shards(file) : new SafeTensors[] {SafeTensors.open(file)};
        return new ClipTextModel(config, Weights.of(COMPONENT, files));
    }

    /** The files named by a sharded checkpoint's {@code weight_map}, each opened once. */
    private static SafeTensors[] shards(Path index) {
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new UserError(index + ": " + JsonFiles.reason(e));
        }
        if (!map.isObject() || map.isEmpty()) throw new UserError(index + ": expected a non-empty \"weight_map\" object");
        Set<String> names = new LinkedHashSet<>();
        map.forEach(v -> {
            if (!v.isTextual() || v.asText().contains("/") || v.asText().contains("\\"))
                throw new UserError(index + ": weight_map entry " + v + " is not a file name in this folder");
            names.add(v.asText());
        });
        return names.stream().map(n -> SafeTensors.open(index.resolveSibling(n))).toArray(SafeTensors[]::new);
    }

    public List<ClipEncoderLayer> layers() { return List.copyOf(layers); }

    /** ids [B][L] (L ≤ max_position_embeddings, all rows equally long) → last_hidden_state [B, L, C]. */
    public Tensor forward(Ctx c, int[][] ids) {
        Backend ops = c.ops();
        int b = ids.length, l = checkIds(ids);
        int[] flat = new int[b * l], positions = new int[b * l];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < l; j++) {
                flat[i * l + j] = ids[i][j];
                positions[i * l + j] = j;
            }
        Tensor x = ops.add(ops.embedding(tokenEmbedding, flat), ops.embedding(positionEmbedding, positions))
            .reshape(b, l, config.hiddenSize());
        x = c.tap(embeddingsName, TapLayout.NLC, x);
        for (ClipEncoderLayer layer : layers) x = layer.forward(c, x);
        return c.tap(finalLayerNormName, TapLayout.NLC, finalLayerNorm.forward(c, x));
    }

    /** The pooled output [B, C] (what CLIP projects for image-text similarity): {@link #pool} of {@link #forward}. */
    public Tensor pooled(Ctx c, int[][] ids) { return pool(c, forward(c, ids), ids); }

    /**
     * The rows of {@code lastHidden} [B, L, C] at each sequence's EOS position → [B, C]. As transformers does: with
     * the legacy {@code eos_token_id} 2 the position of the largest id (EOS is the largest in CLIP's vocabulary),
     * otherwise the first position holding {@code eos_token_id}.
     */
    public Tensor pool(Ctx c, Tensor lastHidden, int[][] ids) {
        Backend ops = c.ops();
        Tensor[] rows = new Tensor[ids.length];
        for (int i = 0; i < ids.length; i++) {
            int p = eosPosition(ids[i]);
            Tensor row = ops.slice(ops.slice(lastHidden, 0, i, i + 1), 1, p, p + 1);
            rows[i] = row.reshape(1, config.hiddenSize());
        }
        return ops.concat(0, rows);
    }

    /** The position {@link #pool} takes from a row of {@code ids}. */
    public int eosPosition(int[] ids) {
        int best = 0;
        for (int j = 1; j < ids.length; j++)
            if (config.eosTokenId() == 2 ? ids[j] > ids[best] : ids[j] == config.eosTokenId() && ids[best] != config.eosTokenId()) best = j;
        return best;
    }

    private int checkIds(int[][] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("text encoder: empty batch");
        int l = ids[0].length;
        if (l == 0 || l > config.maxPositionEmbeddings())
            throw new UserError("text encoder: sequences of " + l + " tokens, expected 1.." + config.maxPositionEmbeddings());
        for (int[] row : ids) {
            if (row.length != l) throw new IllegalArgumentException("text encoder: rows of different lengths " + l + " and " + row.length);
            for (int id : row)
                if (id < 0 || id >= config.vocabSize())
                    throw new UserError("text encoder: token id " + id + " is outside its vocabulary of " + config.vocabSize()
                        + " (tokenizer and text encoder do not belong together)");
        }
        return l;
    }

    /** Drops this model's mapped weight pages from memory until its next use ({@link Weights#unloadPages}). */
    public void unloadWeights() { weights.unloadPages(); }
}
