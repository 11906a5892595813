package dev.stitch.eval.clip;

import dev.stitch.engine.text.ClipEncoderLayer;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.LayerNorm;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * transformers' CLIPVisionTransformer ({@code vision_model.}): patches by a conv with kernel = stride = patch size
 * and no bias, a learned class token in front, position embeddings, {@code pre_layrnorm} (sic: the checkpoint's
 * name), the encoder, and {@code post_layernorm} on the class token, which is the pooled output.
 *
 * <p>Taps: {@code clip.vision_model.embeddings}, {@code .pre_layrnorm}, {@code .encoder.layers.N} (and their
 * sub-modules), all [B, 1 + patches, C]; {@code clip.vision_model.post_layernorm} [B, C].
 */
final class ClipVisionTransformer {
    final ClipConfig.Vision config;
    final Tensor patchEmbedding, classEmbedding, positionEmbedding;
    final LayerNorm preLayrnorm, postLayernorm;
    final List<ClipEncoderLayer> layers = new ArrayList<>();
    final String embeddingsName, preLayrnormName, postLayernormName;

    ClipVisionTransformer(Weights w, ClipConfig.Vision config) {
        this.config = config;
        int d = config.hiddenSize(), p = config.patchSize();
        Weights emb = w.pp("embeddings");
        embeddingsName = emb.tapName();
        patchEmbedding = emb.pp("patch_embedding").get("weight", d, config.numChannels(), p, p);
        classEmbedding = emb.get("class_embedding", d);
        positionEmbedding = emb.pp("position_embedding").get("weight", config.gridSize() * config.gridSize() + 1, d);
        preLayrnorm = new LayerNorm(w.pp("pre_layrnorm"), d, config.layerNormEps());
        preLayrnormName = w.pp("pre_layrnorm").tapName();
        for (int i = 0; i < config.numHiddenLayers(); i++)
            layers.add(new ClipEncoderLayer(w.pp("encoder").pp("layers").pp(i), d, config.intermediateSize(),
                config.numAttentionHeads(), config.hiddenAct(), config.layerNormEps(), false));
        postLayernorm = new LayerNorm(w.pp("post_layernorm"), d, config.layerNormEps());
        postLayernormName = w.pp("post_layernorm").tapName();
    }

    /** pixel values [B, channels, S, S] (S = image_size) → pooled output [B, C]. */
    Tensor forward(Ctx c, Tensor pixelValues) {
        Backend ops = c.ops();
        int s = config.imageSize(), b = pixelValues.dim(0), d = config.hiddenSize(), p = config.patchSize();
        if (pixelValues.rank() != 4 || pixelValues.dim(1) != config.numChannels() || pixelValues.dim(2) != s || pixelValues.dim(3) != s)
            throw new IllegalArgumentException("CLIP vision: pixel values " + Arrays.toString(pixelValues.shape()) + ", expected [B, "
                + config.numChannels() + ", " + s + ", " + s + "]");
        Tensor patches = ops.nchwToNlc(ops.conv2d(pixelValues, patchEmbedding, null, p, 0, 0, 0, 0, Activation.NONE));
        Tensor cls = ops.embedding(classEmbedding.reshape(1, d), new int[b]).reshape(b, 1, d);  // one class token per row
        Tensor x = ops.concat(1, cls, patches);
        int tokens = x.dim(1);
        int[] positions = new int[b * tokens];
        for (int i = 0; i < positions.length; i++) positions[i] = i % tokens;
        x = ops.add(x, ops.embedding(positionEmbedding, positions).reshape(b, tokens, d));
        x = c.tap(embeddingsName, TapLayout.NLC, x);
        x = c.tap(preLayrnormName, TapLayout.NLC, preLayrnorm.forward(c, x));
        for (ClipEncoderLayer layer : layers) x = layer.forward(c, x);
        Tensor pooled = ops.slice(x, 1, 0, 1).reshape(b, d);
        return c.tap(postLayernormName, TapLayout.NC, postLayernorm.forward(c, pooled));
    }
}
