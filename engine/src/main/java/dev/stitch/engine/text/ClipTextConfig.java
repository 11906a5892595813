package dev.stitch.engine.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * transformers' {@code CLIPTextConfig}, read from a text encoder's {@code config.json}; keys the file leaves out take
 * transformers' defaults, as {@code from_pretrained} does. SD2's encoder: 1024 wide, 16 heads, 23 layers, exact GELU.
 *
 * @param eosTokenId the EOS id for the pooled output; transformers' legacy value 2 (what SD2's config says) means
 *                   "take the position of the largest id", which is EOS in CLIP's vocabulary
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, float layerNormEps, String hiddenAct,
                             int eosTokenId) {

    /** Activations transformers' CLIP text model accepts that we implement. */
    public static final String GELU = "gelu", QUICK_GELU = "quick_gelu";

    public ClipTextConfig {
        if (!hiddenAct.equals(GELU) && !hiddenAct.equals(QUICK_GELU))
            throw new UserError("hidden_act '" + hiddenAct + "' is not supported (expected gelu or quick_gelu)");
        if (hiddenSize % numAttentionHeads != 0)
            throw new UserError("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                + numAttentionHeads);
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }

    /** Reads {@code config.json}; a missing file, bad JSON or a bad value is a {@link UserError} naming file and key. */
    public static ClipTextConfig read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such file (the text encoder's config)");
        return parse(file.toString(), JsonFiles.readObject(file));
    }

    /** Reads a parsed config; {@code origin} names it in error messages. */
    public static ClipTextConfig parse(String origin, JsonNode root) {
        JsonConfig r = new JsonConfig(origin, root);
        int vocab = r.positive("vocab_size", 49408), hidden = r.positive("hidden_size", 512),
            intermediate = r.positive("intermediate_size", 2048), layers = r.positive("num_hidden_layers", 12),
            heads = r.positive("num_attention_heads", 8), positions = r.positive("max_position_embeddings", 77),
            eos = r.integer("eos_token_id", 49407);
        float eps = r.epsilon("layer_norm_eps", 1e-5);
        String act = r.string("hidden_act", QUICK_GELU);
        try {
            return new ClipTextConfig(vocab, hidden, intermediate, layers, heads, positions, eps, act, eos);
        } catch (UserError e) {
            throw new UserError(origin + ": " + e.getMessage());
        }
    }
}
