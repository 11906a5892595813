package dev.stitch.eval.clip;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * transformers' {@code CLIPModel} as the hub ships {@code openai/clip-vit-base-patch32}, {@code -base-patch16} and
 * {@code -large-patch14}: a vision and a text tower whose pooled outputs are projected (no bias) into one space, where
 * image-text similarity is the cosine. Embeddings come back L2-normalised, one row per input.
 *
 * <p>Taps carry the component prefix {@code clip}: {@code clip.vision_model.*}, {@code clip.visual_projection},
 * {@code clip.text_model.*}, {@code clip.text_projection}.
 */
public final class ClipModel {
    public static final String COMPONENT = "clip";

    public final ClipConfig config;
    public final ClipImageProcessor processor;
    /** The folder's BPE tokenizer, or null where the folder has no {@code vocab.json} (then only ids can be embedded). */
    public final ClipTokenizer tokenizer;
    final ClipVisionTransformer visionModel;
    final ClipTextModel textModel;
    final Linear visualProjection, textProjection;
    final String visualProjectionName, textProjectionName;
    final float logitScale;

    /** Builds the model; every tensor of {@code w} must be used (position_ids buffers aside). */
    public ClipModel(ClipConfig config, ClipImageProcessor processor, ClipTokenizer tokenizer, Weights w) {
        this.config = config;
        this.processor = processor;
        this.tokenizer = tokenizer;
        if (tokenizer != null && tokenizer.maxLength() > config.text().maxPositionEmbeddings())
            throw new UserError(w.origin() + ": the tokenizer makes " + tokenizer.maxLength() + " ids, the text model takes at most "
                + config.text().maxPositionEmbeddings());
        if (!processor.doCenterCrop() || processor.cropHeight() != config.vision().imageSize() || processor.cropWidth() != config.vision().imageSize())
            throw new UserError(w.origin() + ": the preprocessor must center-crop to the model's image_size "
                + config.vision().imageSize() + ", but crops to " + processor.cropWidth() + "×" + processor.cropHeight()
                + (processor.doCenterCrop() ? "" : " (do_center_crop is false)"));
        visionModel = new ClipVisionTransformer(w.pp("vision_model"), config.vision());
        textModel = new ClipTextModel(config.text(), w);
        visualProjection = new Linear(w.pp("visual_projection"), config.vision().hiddenSize(), config.projectionDim(), false);
        textProjection = new Linear(w.pp("text_projection"), config.text().hiddenSize(), config.projectionDim(), false);
        visualProjectionName = w.pp("visual_projection").tapName();
        textProjectionName = w.pp("text_projection").tapName();
        Tensor scale = w.get("logit_scale");
        if (scale.numel() != 1) throw new UserError(w.origin() + ": tensor 'logit_scale' should hold one number, has shape "
            + java.util.Arrays.toString(scale.shape()));
        logitScale = (float) Math.exp(scale.data()[0]);
        Set<String> unused = w.unused();
        unused.removeIf(n -> n.endsWith("embeddings.position_ids"));   // a buffer older checkpoints saved: 0..n-1
        if (!unused.isEmpty())
            throw new UserError(w.origin() + ": " + unused.size() + " tensor(s) that a CLIPModel with this config.json does not have: "
                + String.join(", ", unused.stream().limit(8).toList()) + (unused.size() > 8 ? ", ..." : ""));
    }

    /**
     * Reads a transformers CLIP folder as the hub has it: {@code config.json}, {@code model.safetensors} and, if
     * present, {@code preprocessor_config.json} and the tokenizer files ({@code vocab.json}, {@code merges.txt}, …).
     * Weights stay memory-mapped in their file dtype.
     */
    public static ClipModel load(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a folder (expected a transformers CLIP model folder)");
        ClipConfig config = ClipConfig.read(dir.resolve("config.json"));
        Path file = dir.resolve("model.safetensors");
        if (!Files.exists(file))
            throw new UserError(dir + ": no model.safetensors"
                + (Files.exists(dir.resolve("pytorch_model.bin")) ? " (pytorch_model.bin must be converted to safetensors first)" : ""));
        ClipImageProcessor processor = ClipImageProcessor.forModel(dir, config.vision().imageSize());
        ClipTokenizer tokenizer = Files.exists(dir.resolve("vocab.json")) ? ClipTokenizer.load(dir) : null;
        return new ClipModel(config, processor, tokenizer, Weights.of(COMPONENT, SafeTensors.open(file)));
    }

    /** Normalised image embeddings [B][projection_dim], preprocessed as CLIPImageProcessor does. */
    public float[][] imageEmbeds(Ctx c, List<RgbImage> images) {
        Tensor pixels = processor.pixelValues(images);
        return imageEmbeds(c, c.ops().fromHost(pixels.data(), pixels.shape()));
    }

    /** Normalised image embeddings from ready pixel values [B, 3, S, S] (S = image_size). */
    public float[][] imageEmbeds(Ctx c, Tensor pixelValues) { return normalized(c.ops(), imageFeatures(c, pixelValues)); }

    /**
     * Normalised text embeddings [B][projection_dim] of prompts, tokenized as transformers' CLIPTokenizer does
     * (what CLIPProcessor and so torchmetrics' CLIP score use); prompts past 77 tokens are cut, keeping EOS.
     */
    public float[][] textEmbeds(Ctx c, List<String> prompts) {
        if (tokenizer == null) throw new UserError("this CLIP folder has no tokenizer (vocab.json, merges.txt): cannot embed text");
        int[][] ids = new int[prompts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = tokenizer.encode(prompts.get(i), ClipTokenizer.Mode.DIFFUSERS);
        return textEmbeds(c, ids);
    }

    /** Normalised text embeddings [B][projection_dim] of token ids [B][L] (L ≤ max_position_embeddings, BOS … EOS). */
    public float[][] textEmbeds(Ctx c, int[][] ids) { return normalized(c.ops(), textFeatures(c, ids)); }

    /** transformers' {@code get_image_features}: the projected pooled output [B, projection_dim], not normalised. */
    public Tensor imageFeatures(Ctx c, Tensor pixelValues) {
        return c.tap(visualProjectionName, TapLayout.NC, visualProjection.forward(c, visionModel.forward(c, pixelValues)));
    }

    /** transformers' {@code get_text_features}: the projected pooled output [B, projection_dim], not normalised. */
    public Tensor textFeatures(Ctx c, int[][] ids) {
        return c.tap(textProjectionName, TapLayout.NC, textProjection.forward(c, textModel.pooled(c, ids)));
    }

    /** {@code exp(logit_scale)}: CLIP's logits are this times the cosine (100 for the released models). */
    public float logitScale() { return logitScale; }

    private static float[][] normalized(Backend ops, Tensor features) {
        int b = features.dim(0), d = features.dim(1);
        float[] x = ops.toHost(features);
        float[][] out = new float[b][d];
        for (int i = 0; i < b; i++) {
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double) x[i * d + j] * x[i * d + j];
            float norm = (float) Math.sqrt(ss);
            for (int j = 0; j < d; j++) out[i][j] = x[i * d + j] / norm;
        }
        return out;
    }
}
