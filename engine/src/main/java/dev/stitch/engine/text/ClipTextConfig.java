package dev.stitch.engine.text;

import dev.stitch.engine.io.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
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
        int vocab = positive(root, "vocab_size", 49408, origin), hidden = positive(root, "hidden_size", 512, origin),
            intermediate = positive(root, "intermediate_size", 2048, origin), layers = positive(root, "num_hidden_layers", 12, origin),
            heads = positive(root, "num_attention_heads", 8, origin), positions = positive(root, "max_position_embeddings", 77, origin),
            eos = integer(root, "eos_token_id", 49407, origin);
        float eps = eps(root, origin);
        String act = text(root, "hidden_act", QUICK_GELU, origin);
        try {
            return new ClipTextConfig(vocab, hidden, intermediate, layers, heads, positions, eps, act, eos);
        } catch (UserError e) {
            throw new UserError(origin + ": " + e.getMessage());
        }
    }

    private static int integer(JsonNode root, String key, int fallback, String file) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new UserError(file + ": " + key + " is " + v + ", expected an integer");
        return v.asInt();
    }

    private static int positive(JsonNode root, String key, int fallback, String file) {
        int v = integer(root, key, fallback, file);
        if (v <= 0) throw new UserError(file + ": " + key + " is " + v + ", expected a positive integer");
        return v;
    }

    private static float eps(JsonNode root, String file) {
        JsonNode v = root.get("layer_norm_eps");
        if (v == null || v.isNull()) return 1e-5f;
        if (!v.isNumber() || !(v.asDouble() > 0) || v.asDouble() > 1)
            throw new UserError(file + ": layer_norm_eps is " + v + ", expected a small positive number");
        return (float) v.asDouble();
    }

    private static String text(JsonNode root, String key, String fallback, String file) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw new UserError(file + ": " + key + " is " + v + ", expected a string");
        return v.asText();
    }
}
