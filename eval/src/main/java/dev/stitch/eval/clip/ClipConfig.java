package dev.stitch.eval.clip;

import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.text.ClipTextConfig;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;

/**
 * transformers' {@code CLIPConfig} ({@code config.json} of {@code CLIPModel}): a text and a vision tower and the width
 * of the shared embedding space. Keys the file leaves out take transformers' defaults (those of CLIP ViT-B/32);
 * old files keep the towers under {@code text_config_dict} / {@code vision_config_dict}, which are read too.
 */
public record ClipConfig(ClipTextConfig text, Vision vision, int projectionDim, float logitScaleInitValue) {

    /** Activations of the CLIP family: OpenAI's models use quick_gelu, OpenCLIP's (LAION) models exact gelu. */
    public static final String QUICK_GELU = ClipTextConfig.QUICK_GELU, GELU = ClipTextConfig.GELU;

    /** {@code CLIPVisionConfig}: square images of {@code imageSize}, cut into {@code patchSize} patches. */
    public record Vision(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numChannels,
                         int imageSize, int patchSize, String hiddenAct, float layerNormEps) {
        public Vision {
            checkTower("vision_config", hiddenSize, numAttentionHeads, hiddenAct, layerNormEps);
            if (imageSize % patchSize != 0)
                throw new UserError("vision_config: image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        }

        public int gridSize() { return imageSize / patchSize; }
    }

    public static ClipConfig read(Path file) {
        JsonConfig r = JsonConfig.read(file);
        JsonConfig t = r.object(r.node("text_config") != null ? "text_config" : "text_config_dict");
        JsonConfig v = r.object(r.node("vision_config") != null ? "vision_config" : "vision_config_dict");
        ClipTextConfig text = ClipTextConfig.parse(t.origin(), t.root());
        int vHidden = v.positive("hidden_size", 768), vInter = v.positive("intermediate_size", 3072),
            vLayers = v.positive("num_hidden_layers", 12), vHeads = v.positive("num_attention_heads", 12),
            channels = v.positive("num_channels", 3), imageSize = v.positive("image_size", 224), patch = v.positive("patch_size", 32);
        String vAct = v.string("hidden_act", QUICK_GELU);
        float vEps = v.epsilon("layer_norm_eps", 1e-5);
        int projection = r.positive("projection_dim", 512);
        float logitScale = (float) r.number("logit_scale_init_value", 2.6592);
        try {
            return new ClipConfig(text, new Vision(vHidden, vInter, vLayers, vHeads, channels, imageSize, patch, vAct, vEps), projection, logitScale);
        } catch (UserError e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }

    private static void checkTower(String tower, int hidden, int heads, String act, float eps) {
        if (!act.equals(QUICK_GELU) && !act.equals(GELU))
            throw new UserError(tower + ": hidden_act '" + act + "' is not supported (expected quick_gelu or gelu)");
        if (hidden % heads != 0)
            throw new UserError(tower + ": hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
    }
}
