package dev.stitch.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerConfig;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The diffusers config files of an SD 1.x or SD2 model (every key, in the layout diffusers 0.25 writes,
 * so that diffusers itself loads the folder), built from an {@link ConfigInference.Inferred}; and the way
 * back: the same facts read from a diffusers folder, written as an LDM yaml.
 */
public final class DiffusersConfigs {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The diffusers release whose config layout these files follow. */
    static final String DIFFUSERS_VERSION = "0.25.1";

    private DiffusersConfigs() {}

    /** model_index, unet, vae, text_encoder and scheduler configs, keyed by those names. */
    public static Map<String, ObjectNode> build(ConfigInference.Inferred c, SafeDType textDtype) {
        Map<String, ObjectNode> m = new LinkedHashMap<>();
        m.put("model_index", modelIndex(c.layout().family()));
        m.put("unet", unet(c));
        m.put("vae", vae(c));
        m.put("text_encoder", textEncoder(c, textDtype));
        m.put("scheduler", scheduler(c));
        return m;
    }

    static ObjectNode modelIndex(LdmNames.Family family) {
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "StableDiffusionPipeline");
        o.put("_diffusers_version", DIFFUSERS_VERSION);
        for (String none : List.of("feature_extractor", "image_encoder")) o.putArray(none).addNull().addNull();
        o.put("requires_safety_checker", false);
        o.putArray("safety_checker").addNull().addNull();
        o.putArray("scheduler").add("diffusers").add(family == LdmNames.Family.SD1 ? "PNDMScheduler" : "DDIMScheduler");
        o.putArray("text_encoder").add("transformers").add("CLIPTextModel");
        o.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
        o.putArray("unet").add("diffusers").add("UNet2DConditionModel");
        o.putArray("vae").add("diffusers").add("AutoencoderKL");
        return o;
    }

    static ObjectNode unet(ConfigInference.Inferred c) {
        var l = c.layout();
        int n = l.unetLevels();
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "UNet2DConditionModel");
        o.put("_diffusers_version", DIFFUSERS_VERSION);
        o.put("act_fn", "silu");
        o.putNull("addition_embed_type");
        o.put("addition_embed_type_num_heads", 64);
        o.putNull("addition_time_embed_dim");
        // diffusers' misnomer: the number of heads per level; SD 1.x configs give one count for all levels
        if (l.family() == LdmNames.Family.SD1 && java.util.Arrays.stream(c.heads()).distinct().count() == 1) o.put("attention_head_dim", c.heads()[0]);
        else ints(o.putArray("attention_head_dim"), c.heads());
        o.put("attention_type", "default");
        ints(o.putArray("block_out_channels"), c.unetChannels());
        o.put("center_input_sample", false);
        o.putNull("class_embed_type");
        o.put("class_embeddings_concat", false);
        o.put("conv_in_kernel", 3);
        o.put("conv_out_kernel", 3);
        o.put("cross_attention_dim", c.crossAttentionDim());
        o.putNull("cross_attention_norm");
        ArrayNode down = o.putArray("down_block_types");
        for (int i = 0; i < n; i++) down.add(l.unetAttention()[i] ? "CrossAttnDownBlock2D" : "DownBlock2D");
        o.put("downsample_padding", 1);
        o.put("dropout", 0.0);
        o.put("dual_cross_attention", false);
        o.putNull("encoder_hid_dim");
        o.putNull("encoder_hid_dim_type");
        o.put("flip_sin_to_cos", true);
        o.put("freq_shift", 0);
        o.put("in_channels", c.unetIn());
        o.put("layers_per_block", l.unetLayers());
        o.putNull("mid_block_only_cross_attention");
        o.put("mid_block_scale_factor", 1);
        o.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        o.put("norm_eps", 1e-5);
        o.put("norm_num_groups", 32);
        o.putNull("num_attention_heads");
        o.putNull("num_class_embeds");
        o.put("only_cross_attention", false);
        o.put("out_channels", c.unetOut());
        o.putNull("projection_class_embeddings_input_dim");
        o.put("resnet_out_scale_factor", 1.0);
        o.put("resnet_skip_time_act", false);
        o.put("resnet_time_scale_shift", "default");
        o.putNull("reverse_transformer_layers_per_block");
        o.put("sample_size", c.sampleSize());
        o.putNull("time_cond_proj_dim");
        o.putNull("time_embedding_act_fn");
        o.putNull("time_embedding_dim");
        o.put("time_embedding_type", "positional");
        o.putNull("timestep_post_act");
        o.put("transformer_layers_per_block", l.transformerDepth());
        ArrayNode up = o.putArray("up_block_types");
        for (int i = n - 1; i >= 0; i--) up.add(l.unetAttention()[i] ? "CrossAttnUpBlock2D" : "UpBlock2D");
        // Attention in f32 is what the engine always does; diffusers' flag only matters for its own f16 runs.
        o.put("upcast_attention", false);
        o.put("use_linear_projection", c.linearProjection());
        return o;
    }

    static ObjectNode vae(ConfigInference.Inferred c) {
        int n = c.vaeChannels().length;
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "AutoencoderKL");
        o.put("_diffusers_version", DIFFUSERS_VERSION);
        o.put("act_fn", "silu");
        ints(o.putArray("block_out_channels"), c.vaeChannels());
        ArrayNode down = o.putArray("down_block_types");
        for (int i = 0; i < n; i++) down.add("DownEncoderBlock2D");
        o.put("force_upcast", true);
        o.put("in_channels", c.vaeIn());
        o.put("latent_channels", c.latentChannels());
        o.put("layers_per_block", c.layout().vaeLayers());
        o.put("norm_num_groups", 32);
        o.put("out_channels", c.vaeOut());
        o.put("sample_size", c.sampleSize() * 8);
        o.put("scaling_factor", c.scaleFactor());
        ArrayNode up = o.putArray("up_block_types");
        for (int i = 0; i < n; i++) up.add("UpDecoderBlock2D");
        return o;
    }

    static ObjectNode textEncoder(ConfigInference.Inferred c, SafeDType dtype) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("CLIPTextModel");
        o.put("attention_dropout", 0.0);
        o.put("bos_token_id", 0);             // transformers' CLIPTextConfig defaults, as the SD2 release has them;
        o.put("dropout", 0.0);                // the tokenizer files hold the real special-token ids
        o.put("eos_token_id", 2);
        o.put("hidden_act", c.layout().family() == LdmNames.Family.SD1 ? "quick_gelu" : "gelu");   // CLIP ViT-L / OpenCLIP ViT-H
        o.put("hidden_size", c.textWidth());
        o.put("initializer_factor", 1.0);
        o.put("initializer_range", 0.02);
        o.put("intermediate_size", c.textIntermediate());
        o.put("layer_norm_eps", 1e-5);
        o.put("max_position_embeddings", c.textPositions());
        o.put("model_type", "clip_text_model");
        o.put("num_attention_heads", c.textHeads());
        o.put("num_hidden_layers", c.layout().textLayers());
        o.put("pad_token_id", 1);
        // as in the SD2 release (512) and SD 1.x's (the width); CLIPTextModel has no projection
        o.put("projection_dim", c.layout().family() == LdmNames.Family.SD1 ? c.textWidth() : 512);
        o.put("torch_dtype", switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        o.put("vocab_size", c.textVocab());
        return o;
    }

    static ObjectNode scheduler(ConfigInference.Inferred c) {
        if (c.layout().family() == LdmNames.Family.SD1) return pndmScheduler(c);
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "DDIMScheduler");
        o.put("_diffusers_version", DIFFUSERS_VERSION);
        o.put("beta_end", c.betaEnd());
        o.put("beta_schedule", "scaled_linear");   // LDM's "linear": linspace of square roots, squared
        o.put("beta_start", c.betaStart());
        o.put("clip_sample", false);
        o.put("clip_sample_range", 1.0);
        o.put("dynamic_thresholding_ratio", 0.995);
        o.put("num_train_timesteps", c.trainTimesteps());
        o.put("prediction_type", c.prediction().diffusers);
        o.put("rescale_betas_zero_snr", false);
        o.put("sample_max_value", 1.0);
        o.put("set_alpha_to_one", false);
        o.put("steps_offset", 1);
        o.put("thresholding", false);
        o.put("timestep_spacing", "leading");
        o.putNull("trained_betas");
        return o;
    }

    /** SD 1.x folders' scheduler: PNDM with skip_prk_steps (PLMS), as runwayml/stable-diffusion-v1-5 ships it. */
    static ObjectNode pndmScheduler(ConfigInference.Inferred c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "PNDMScheduler");
        o.put("_diffusers_version", DIFFUSERS_VERSION);
        o.put("beta_end", c.betaEnd());
        o.put("beta_schedule", "scaled_linear");
        o.put("beta_start", c.betaStart());
        o.put("num_train_timesteps", c.trainTimesteps());
        o.put("prediction_type", c.prediction().diffusers);
        o.put("set_alpha_to_one", false);
        o.put("skip_prk_steps", true);
        o.put("steps_offset", 1);
        o.put("timestep_spacing", "leading");
        o.putNull("trained_betas");
        return o;
    }

    /**
     * The config files of {@code dir} ({@code --config-from}), as diffusers' {@code from_single_file(config=)} uses
     * them: copied as they are, keyed as {@link #build} keys its own.
     */
    public static Map<String, ObjectNode> copy(Path dir) {
        Map<String, ObjectNode> m = new LinkedHashMap<>();
        m.put("model_index", (ObjectNode) readJson(dir.resolve("model_index.json")));
        for (String c : List.of("unet", "vae", "text_encoder")) m.put(c, (ObjectNode) readJson(dir.resolve(c + "/config.json")));
        m.put("scheduler", (ObjectNode) readJson(dir.resolve("scheduler/scheduler_config.json")));
        return m;
    }

    private static void ints(ArrayNode a, int[] v) {
        for (int x : v) a.add(x);
    }

    // ---- the way back: a diffusers folder's configs ----

    static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": missing (expected in a diffusers model folder)");
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) throw new UserError(file + ": not a JSON object");
            return n;
        } catch (IOException e) {
            throw new UserError(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    /** Reads {@code unet/}, {@code vae/}, {@code text_encoder/} and {@code scheduler/} configs of a diffusers folder. */
    public static ConfigInference.Inferred read(Path dir) {
        Path uf = dir.resolve("unet/config.json"), vf = dir.resolve("vae/config.json"), tf = dir.resolve("text_encoder/config.json"),
            sf = dir.resolve("scheduler/scheduler_config.json");
        JsonNode u = readJson(uf), v = readJson(vf), t = readJson(tf), s = readJson(sf);
        int[] channels = intList(uf, u, "block_out_channels");
        int levels = channels.length;
        boolean[] attention = new boolean[levels];
        JsonNode down = u.get("down_block_types");
        for (int i = 0; i < levels; i++) {
            String type = down == null || down.get(i) == null ? "" : down.get(i).asText();
            attention[i] = switch (type) {
                case "CrossAttnDownBlock2D" -> true;
                case "DownBlock2D" -> false;
                default -> throw new UserError(uf + ": down_block_types[" + i + "] '" + type + "' is not an SD2 block");
            };
        }
        int[] heads;
        JsonNode ahd = u.get("attention_head_dim");
        if (ahd != null && ahd.isInt()) heads = java.util.Collections.nCopies(levels, ahd.asInt()).stream().mapToInt(Integer::intValue).toArray();
        else heads = intList(uf, u, "attention_head_dim");
        if (heads.length != levels) throw new UserError(uf + ": attention_head_dim has " + heads.length + " entries for " + levels + " levels");
        int[] vaeChannels = intList(vf, v, "block_out_channels");
        int textLayers = integer(tf, t, "num_hidden_layers");
        int depth = u.path("transformer_layers_per_block").isInt() ? u.get("transformer_layers_per_block").asInt() : 1;
        // The text encoder tells the family: SD 1.x's CLIP ViT-L uses quick GELU, SD2's OpenCLIP ViT-H exact GELU.
        String act = t.path("hidden_act").asText("quick_gelu");   // transformers' CLIPTextConfig default
        LdmNames.Family family = switch (act) {
            case "quick_gelu" -> LdmNames.Family.SD1;
            case "gelu" -> LdmNames.Family.SD2;
            default -> throw new UserError(tf + ": hidden_act '" + act + "' is neither SD 1.x's quick_gelu nor SD2's gelu");
        };
        var layout = new LdmNames.Layout(family, levels, integer(uf, u, "layers_per_block"), attention, depth,
            vaeChannels.length, integer(vf, v, "layers_per_block"), family == LdmNames.Family.SD2 ? textLayers + 1 : textLayers);
        String schedule = s.path("beta_schedule").asText("scaled_linear");
        if (!schedule.equals("scaled_linear")) throw new UserError(sf + ": beta_schedule '" + schedule + "' has no LDM equivalent (Stable Diffusion uses scaled_linear)");
        Prediction prediction = SchedulerConfig.read(sf).prediction();
        return new ConfigInference.Inferred(layout, integer(uf, u, "in_channels"), integer(uf, u, "out_channels"), channels,
            integer(uf, u, "cross_attention_dim"), u.path("use_linear_projection").asBoolean(false), heads,
            integer(vf, v, "in_channels"), integer(vf, v, "out_channels"), integer(vf, v, "latent_channels"), vaeChannels,
            integer(tf, t, "hidden_size"), integer(tf, t, "num_attention_heads"), integer(tf, t, "intermediate_size"),
            integer(tf, t, "max_position_embeddings"), integer(tf, t, "vocab_size"),
            prediction, integer(uf, u, "sample_size"),
            v.path("scaling_factor").asDouble(0.18215), s.path("beta_start").asDouble(0.00085), s.path("beta_end").asDouble(0.012),
            s.path("num_train_timesteps").asInt(1000), List.of(), List.of());
    }

    private static int integer(Path f, JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || !n.isInt()) throw new UserError(f + ": '" + key + "' missing or not an integer");
        return n.asInt();
    }

    private static int[] intList(Path f, JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || !n.isArray() || n.isEmpty()) throw new UserError(f + ": '" + key + "' missing or not a list");
        int[] r = new int[n.size()];
        for (int i = 0; i < r.length; i++) {
            if (!n.get(i).isInt()) throw new UserError(f + ": '" + key + "' holds a non-integer");
            r[i] = n.get(i).asInt();
        }
        return r;
    }

    /**
     * The LDM yaml (v1- or v2-inference layout) for these facts: the keys {@link ConfigInference} reads back, so that a
     * diffusers -> LDM -> diffusers round trip keeps head counts, prediction type and sample size.
     */
    static String ldmYaml(ConfigInference.Inferred c) {
        int[] ch = c.unetChannels();
        var l = c.layout();
        List<String> attnRes = new ArrayList<>(), mult = new ArrayList<>(), vaeMult = new ArrayList<>();
        for (int i = 0; i < ch.length; i++) {
            if (ch[i] % ch[0] != 0) throw new UserError("UNet channels " + java.util.Arrays.toString(ch) + " are not multiples of the first level's");
            mult.add(Integer.toString(ch[i] / ch[0]));
            if (l.unetAttention()[i]) attnRes.add(Integer.toString(1 << i));
        }
        int[] vc = c.vaeChannels();
        for (int x : vc) {
            if (x % vc[0] != 0) throw new UserError("VAE channels " + java.util.Arrays.toString(vc) + " are not multiples of the first level's");
            vaeMult.add(Integer.toString(x / vc[0]));
        }
        int headDim = ch[0] / c.heads()[0];
        boolean sameDim = true, sameCount = true;
        for (int i = 0; i < ch.length; i++) {
            sameDim &= ch[i] == headDim * c.heads()[i];
            sameCount &= c.heads()[i] == c.heads()[0];
        }
        boolean sd1 = l.family() == LdmNames.Family.SD1;
        String headsLine;
        if (sd1 && sameCount) headsLine = "num_heads: " + c.heads()[0];      // v1-inference.yaml's way
        else if (sameDim) headsLine = "num_head_channels: " + headDim;
        else if (sameCount) headsLine = "num_heads: " + c.heads()[0] + "\n        num_head_channels: -1";
        else throw new UserError("UNet heads " + java.util.Arrays.toString(c.heads()) + " have neither one width nor one count; LDM's yaml cannot say that");
        if (!sd1 && c.textWidth() != headDim * c.textHeads())
            throw new UserError("text encoder heads " + c.textHeads() + " (width " + c.textWidth() + ") differ from the UNet's head width " + headDim
                + "; an LDM checkpoint cannot record that");
        String text = sd1 ? """
                cond_stage_config:
                  target: ldm.modules.encoders.modules.FrozenCLIPEmbedder
            """ : """
                cond_stage_config:
                  target: ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder
                  params:
                    freeze: True
                    layer: "penultimate"
            """;
        return """
            # LDM config for a checkpoint written by `stitch convert --to-ldm` (%s layout; the keys Stitch reads back).
            model:
              target: ldm.models.diffusion.ddpm.LatentDiffusion
              params:
            %s    linear_start: %s
                linear_end: %s
                timesteps: %d
                image_size: %d
                channels: %d
                conditioning_key: crossattn
                scale_factor: %s
                unet_config:
                  target: ldm.modules.diffusionmodules.openaimodel.UNetModel
                  params:
                    in_channels: %d
                    out_channels: %d
                    model_channels: %d
                    attention_resolutions: [ %s ]
                    num_res_blocks: %d
                    channel_mult: [ %s ]
                    %s
                    use_spatial_transformer: True
                    use_linear_in_transformer: %s
                    transformer_depth: %d
                    context_dim: %d
                    legacy: False
                first_stage_config:
                  target: ldm.models.autoencoder.AutoencoderKL
                  params:
                    embed_dim: %d
                    ddconfig:
                      double_z: true
                      z_channels: %d
                      in_channels: %d
                      out_ch: %d
                      ch: %d
                      ch_mult: [ %s ]
                      num_res_blocks: %d
                      attn_resolutions: []
                      dropout: 0.0
            """.formatted(sd1 ? "v1-inference" : "v2-inference",
            c.prediction() == Prediction.V_PREDICTION ? "    parameterization: \"v\"\n" : "",
            plain(c.betaStart()), plain(c.betaEnd()), c.trainTimesteps(), c.sampleSize(), c.latentChannels(), plain(c.scaleFactor()),
            c.unetIn(), c.unetOut(), ch[0], String.join(", ", attnRes), l.unetLayers(), String.join(", ", mult), headsLine,
            c.linearProjection() ? "True" : "False", l.transformerDepth(), c.crossAttentionDim(),
            c.latentChannels(), c.latentChannels(), c.vaeIn(), c.vaeOut(), vc[0], String.join(", ", vaeMult), l.vaeLayers()) + text;
    }

    /** A number as YAML readers agree on it: plain decimal, no exponent. */
    private static String plain(double d) { return java.math.BigDecimal.valueOf(d).toPlainString(); }
}
