package dev.stitch.eval.clip;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.LayerNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' CLIPTextTransformer ({@code text_model.}): token + position embeddings, causal pre-LN layers,
 * {@code final_layer_norm}; the pooled output is the final hidden state at the EOS token.
 *
 * <p>Taps: {@code clip.text_model.embeddings}, {@code .encoder.layers.N} (and their sub-modules),
 * {@code .final_layer_norm}, all [B, L, C].
 */
final class ClipTextTransformer {
    final ClipConfig.Text config;
    final Tensor tokenEmbedding, positionEmbedding;
    final List<ClipEncoderLayer> layers = new ArrayList<>();
    final LayerNorm finalLayerNorm;
    final String embeddingsName, finalLayerNormName;

    ClipTextTransformer(Weights w, ClipConfig.Text config) {
        this.config = config;
        int d = config.hiddenSize();
        Weights emb = w.pp("embeddings");
        embeddingsName = emb.tapName();
        tokenEmbedding = emb.pp("token_embedding").get("weight", config.vocabSize(), d);
        positionEmbedding = emb.pp("position_embedding").get("weight", config.maxPositionEmbeddings(), d);
        for (int i = 0; i < config.numHiddenLayers(); i++)
            layers.add(new ClipEncoderLayer(w.pp("encoder").pp("layers").pp(i), d, config.intermediateSize(),
                config.numAttentionHeads(), config.hiddenAct(), config.layerNormEps(), true));
        finalLayerNorm = new LayerNorm(w.pp("final_layer_norm"), d, config.layerNormEps());
        finalLayerNormName = w.pp("final_layer_norm").tapName();
    }

    /** ids [B][L], all rows of one length L ≤ max_position_embeddings → pooled output [B, C]. */
    Tensor forward(Ctx c, int[][] ids) {
        Backend ops = c.ops();
        int b = ids.length, l = checkIds(ids), d = config.hiddenSize();
        int[] flat = new int[b * l], positions = new int[b * l];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < l; j++) {
                flat[i * l + j] = ids[i][j];
                positions[i * l + j] = j;
            }
        Tensor x = ops.add(ops.embedding(tokenEmbedding, flat), ops.embedding(positionEmbedding, positions)).reshape(b, l, d);
        x = c.tap(embeddingsName, TapLayout.NLC, x);
        for (ClipEncoderLayer layer : layers) x = layer.forward(c, x);
        x = c.tap(finalLayerNormName, TapLayout.NLC, finalLayerNorm.forward(c, x));
        Tensor[] rows = new Tensor[b];
        for (int i = 0; i < b; i++) {
            int p = eosPosition(ids[i]);
            rows[i] = ops.slice(ops.slice(x, 0, i, i + 1), 1, p, p + 1).reshape(1, d);
        }
        return ops.concat(0, rows);
    }

    /**
     * The pooled position, as transformers: with the legacy {@code eos_token_id} 2 the first position of the largest
     * id (EOS is the largest id of CLIP's vocabulary), otherwise the first position of {@code eos_token_id} (0 if none).
     */
    int eosPosition(int[] ids) {
        int best = 0;
        for (int j = 0; j < ids.length; j++) {
            if (config.eosTokenId() == 2 ? ids[j] > ids[best] : ids[j] == config.eosTokenId()) {
                best = j;
                if (config.eosTokenId() != 2) break;
            }
        }
        return best;
    }

    private int checkIds(int[][] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("CLIP text: empty batch");
        int l = ids[0].length;
        if (l == 0 || l > config.maxPositionEmbeddings())
            throw new UserError("CLIP text: sequences of " + l + " tokens, expected 1.." + config.maxPositionEmbeddings());
        for (int[] row : ids) {
            if (row.length != l) throw new IllegalArgumentException("CLIP text: rows of different lengths " + l + " and " + row.length);
            for (int id : row)
                if (id < 0 || id >= config.vocabSize())
                    throw new UserError("CLIP text: token id " + id + " is outside the vocabulary of " + config.vocabSize()
                        + " (tokenizer and model do not belong together)");
        }
        return l;
    }
}
