package dev.stitch.convert;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one table from original (LDM / Stability-AI / CompVis) checkpoint names to diffusers names, built in loops from
 * the model's layout. Every tensor of an SD 1.x or SD2 checkpoint appears here either as a {@link Rule} or as
 * {@link Ignored} on purpose; anything else is reported. The same table read backwards writes an LDM file from a
 * diffusers folder.
 *
 * <p>Sources of the layout: LDM's {@code openaimodel.UNetModel} (input_blocks / middle_block / output_blocks),
 * {@code autoencoder.Encoder/Decoder} (down / mid / up, the decoder's up list stored in reverse); the text encoder is
 * open_clip's text transformer in SD2 (resblocks with a fused q|k|v projection) and transformers' CLIPTextModel itself
 * in SD 1.x ({@code FrozenCLIPEmbedder}: the diffusers names under {@code cond_stage_model.transformer.}).
 */
public final class LdmNames {
    public static final String UNET = "model.diffusion_model.";
    public static final String VAE = "first_stage_model.";
    /** SD2's open_clip text tower. */
    public static final String TEXT = "cond_stage_model.model.";
    /** SD 1.x's CLIPTextModel: its own (diffusers) names follow this prefix. */
    public static final String TEXT_V1 = "cond_stage_model.transformer.";

    /** The model families whose checkpoints this table reads; they differ in the text encoder. */
    public enum Family {
        /** CLIP ViT-L/14 (transformers' names, quick GELU), every layer used. */
        SD1("SD 1.x"),
        /** OpenCLIP ViT-H/14 (open_clip's names, exact GELU), the last resblock unused. */
        SD2("SD2");

        public final String label;

        Family(String label) { this.label = label; }

        @Override
        public String toString() { return label; }
    }

    /** How a diffusers tensor is made from its LDM tensor. */
    public enum Op {
        COPY,
        /** VAE mid attention: LDM 1x1 conv {@code [C,C,1,1]} is diffusers' linear {@code [C,C]} (same bytes). */
        CONV1X1_TO_LINEAR,
        /**
         * VAE mid attention bias: {@code [C]}, or {@code [C,1,1]} as diffusers' own
         * {@code convert_diffusers_to_original_stable_diffusion.py} (0.25) reshapes it; written back as {@code [C]}.
         */
        VECTOR,
        /** Text attention: LDM's fused {@code in_proj} {@code [3C,...]} split into thirds q | k | v. */
        Q_ROWS, K_ROWS, V_ROWS,
        /** No LDM source: diffusers' {@code position_ids} buffer, {@code arange(77)} as I64 {@code [1,77]}. */
        POSITION_IDS
    }

    /** One diffusers tensor: its LDM source, component ("unet", "vae", "text_encoder"), name and how it is made. */
    public record Rule(String ldm, String component, String diffusers, Op op, boolean optional) {}

    /** LDM tensors left out on purpose: an exact name, or a prefix ending in '.'. */
    public record Ignored(String name, String why) {
        public boolean matches(String key) { return name.endsWith(".") ? key.startsWith(name) : key.equals(name); }
    }

    /**
     * The shape of a model as the tensors reveal it: its family; UNet levels and resnets per level, which levels have
     * attention and how many transformer blocks; VAE levels and resnets per level; text layers in the file (SD2: open_clip
     * resblocks, the last of which it does not use; SD 1.x: CLIPTextModel layers, all used).
     */
    public record Layout(Family family, int unetLevels, int unetLayers, boolean[] unetAttention, int transformerDepth,
                         int vaeLevels, int vaeLayers, int textBlocks) {
        /** The text layers the model runs (diffusers' num_hidden_layers). */
        public int textLayers() { return family == Family.SD2 ? textBlocks - 1 : textBlocks; }

        @Override
        public String toString() {
            return "Layout[" + family + ", unet " + unetLevels + "x" + unetLayers + " attention " + Arrays.toString(unetAttention) + " depth "
                + transformerDepth + ", vae " + vaeLevels + "x" + vaeLayers + ", text blocks " + textBlocks + "]";
        }
    }

    private LdmNames() {}

    /** Every diffusers tensor of the model, in the order they are written. */
    public static List<Rule> rules(Layout l) {
        Table t = new Table();
        unet(t, l);
        vae(t, l);
        if (l.family() == Family.SD2) text(t, l);
        else textV1(t, l);
        return t.rules;
    }

    /** LDM tensors that have no diffusers counterpart, each with the reason. */
    public static List<Ignored> ignored(Layout l) {
        List<Ignored> out = new ArrayList<>();
        if (l.family() == Family.SD2) {
            out.add(new Ignored(TEXT + "transformer.resblocks." + (l.textBlocks() - 1) + ".",
                "the last text resblock: SD2 conditions on the penultimate layer"));
            out.add(new Ignored(TEXT + "text_projection", "CLIP's contrastive projection, unused by SD2"));
            out.add(new Ignored(TEXT + "logit_scale", "CLIP's contrastive temperature, unused by SD2"));
            out.add(new Ignored(TEXT + "attn_mask", "the causal mask, rebuilt at run time"));
        } else {
            out.add(new Ignored(V1_POSITION_IDS, "the text encoder's position-id buffer (arange), rebuilt"));
        }
        for (String s : List.of("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
            "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
            "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1",
            "posterior_mean_coef2", "logvar", "lvlb_weights"))
            out.add(new Ignored(s, "noise-schedule buffer: scheduler/scheduler_config.json carries the schedule"));
        out.add(new Ignored("model_ema.", "EMA shadow copy of the UNet: the regular weights are converted (diffusers' default)"));
        out.add(new Ignored(VAE + "loss.", "VAE training loss (discriminator, LPIPS)"));
        return out;
    }

    /** The rules keyed by LDM name (a fused text projection maps to three rules). */
    public static Map<String, List<Rule>> byLdm(List<Rule> rules) {
        Map<String, List<Rule>> m = new LinkedHashMap<>();
        for (Rule r : rules) if (r.ldm() != null) m.computeIfAbsent(r.ldm(), k -> new ArrayList<>()).add(r);
        return m;
    }

    // ---- UNet: openaimodel.UNetModel -> UNet2DConditionModel ----

    private static void unet(Table t, Layout l) {
        String u = UNET;
        int n = l.unetLayers();
        t.component = "unet";
        t.wb(u + "time_embed.0", "time_embedding.linear_1");
        t.wb(u + "time_embed.2", "time_embedding.linear_2");
        t.wb(u + "input_blocks.0.0", "conv_in");
        // input_blocks: [conv_in], then per level n x (resnet[, attention]), then a downsampler except on the last level
        for (int i = 0; i < l.unetLevels(); i++) {
            for (int j = 0; j < n; j++) {
                int k = 1 + i * (n + 1) + j;
                unetResnet(t, u + "input_blocks." + k + ".0", "down_blocks." + i + ".resnets." + j);
                if (l.unetAttention()[i])
                    transformer(t, u + "input_blocks." + k + ".1", "down_blocks." + i + ".attentions." + j, l.transformerDepth());
            }
            if (i < l.unetLevels() - 1)
                t.wb(u + "input_blocks." + (i + 1) * (n + 1) + ".0.op", "down_blocks." + i + ".downsamplers.0.conv");
        }
        unetResnet(t, u + "middle_block.0", "mid_block.resnets.0");
        transformer(t, u + "middle_block.1", "mid_block.attentions.0", l.transformerDepth());
        unetResnet(t, u + "middle_block.2", "mid_block.resnets.1");
        // output_blocks: per up level (deepest first) n+1 x (resnet[, attention]), the last one also upsamples
        for (int i = 0; i < l.unetLevels(); i++) {
            boolean attention = l.unetAttention()[l.unetLevels() - 1 - i];
            for (int j = 0; j <= n; j++) {
                int k = i * (n + 1) + j;
                unetResnet(t, u + "output_blocks." + k + ".0", "up_blocks." + i + ".resnets." + j);
                if (attention)
                    transformer(t, u + "output_blocks." + k + ".1", "up_blocks." + i + ".attentions." + j, l.transformerDepth());
                if (j == n && i < l.unetLevels() - 1)
                    t.wb(u + "output_blocks." + k + "." + (attention ? 2 : 1) + ".conv", "up_blocks." + i + ".upsamplers.0.conv");
            }
        }
        t.wb(u + "out.0", "conv_norm_out");
        t.wb(u + "out.2", "conv_out");
    }

    /** openaimodel.ResBlock -> ResnetBlock2D. */
    private static void unetResnet(Table t, String ldm, String d) {
        t.wb(ldm + ".in_layers.0", d + ".norm1");
        t.wb(ldm + ".in_layers.2", d + ".conv1");
        t.wb(ldm + ".emb_layers.1", d + ".time_emb_proj");
        t.wb(ldm + ".out_layers.0", d + ".norm2");
        t.wb(ldm + ".out_layers.3", d + ".conv2");
        t.optional = true;                                   // only where the channel count changes
        t.wb(ldm + ".skip_connection", d + ".conv_shortcut");
        t.optional = false;
    }

    /** attention.SpatialTransformer -> Transformer2DModel: the inner names already match. */
    private static void transformer(Table t, String ldm, String d, int depth) {
        for (String m : List.of("norm", "proj_in", "proj_out")) t.wb(ldm + "." + m, d + "." + m);
        for (int b = 0; b < depth; b++) {
            String tb = ".transformer_blocks." + b + ".";
            for (String m : List.of("norm1", "norm2", "norm3")) t.wb(ldm + tb + m, d + tb + m);
            for (String a : List.of("attn1", "attn2")) {
                for (String p : List.of("to_q", "to_k", "to_v")) t.w(ldm + tb + a + "." + p + ".weight", d + tb + a + "." + p + ".weight", Op.COPY);
                t.wb(ldm + tb + a + ".to_out.0", d + tb + a + ".to_out.0");
            }
            t.wb(ldm + tb + "ff.net.0.proj", d + tb + "ff.net.0.proj");
            t.wb(ldm + tb + "ff.net.2", d + tb + "ff.net.2");
        }
    }

    // ---- VAE: autoencoder.Encoder/Decoder -> AutoencoderKL ----

    private static void vae(Table t, Layout l) {
        String v = VAE;
        int levels = l.vaeLevels(), n = l.vaeLayers();
        t.component = "vae";
        t.wb(v + "encoder.conv_in", "encoder.conv_in");
        for (int i = 0; i < levels; i++) {
            for (int j = 0; j < n; j++) vaeResnet(t, v + "encoder.down." + i + ".block." + j, "encoder.down_blocks." + i + ".resnets." + j);
            if (i < levels - 1) t.wb(v + "encoder.down." + i + ".downsample.conv", "encoder.down_blocks." + i + ".downsamplers.0.conv");
        }
        vaeMid(t, v + "encoder.mid", "encoder.mid_block");
        t.wb(v + "encoder.norm_out", "encoder.conv_norm_out");
        t.wb(v + "encoder.conv_out", "encoder.conv_out");
        t.wb(v + "quant_conv", "quant_conv");
        t.wb(v + "post_quant_conv", "post_quant_conv");
        t.wb(v + "decoder.conv_in", "decoder.conv_in");
        vaeMid(t, v + "decoder.mid", "decoder.mid_block");
        // The decoder's "up" list is indexed by resolution level (0 = full size) and run from the last entry;
        // diffusers' up_blocks are in run order. So up.i is up_blocks.(levels-1-i).
        for (int i = levels - 1; i >= 0; i--) {
            int u = levels - 1 - i;
            for (int j = 0; j <= n; j++) vaeResnet(t, v + "decoder.up." + i + ".block." + j, "decoder.up_blocks." + u + ".resnets." + j);
            if (i > 0) t.wb(v + "decoder.up." + i + ".upsample.conv", "decoder.up_blocks." + u + ".upsamplers.0.conv");
        }
        t.wb(v + "decoder.norm_out", "decoder.conv_norm_out");
        t.wb(v + "decoder.conv_out", "decoder.conv_out");
    }

    private static void vaeMid(Table t, String ldm, String d) {
        vaeResnet(t, ldm + ".block_1", d + ".resnets.0");
        vaeAttention(t, ldm + ".attn_1", d + ".attentions.0");
        vaeResnet(t, ldm + ".block_2", d + ".resnets.1");
    }

    private static void vaeResnet(Table t, String ldm, String d) {
        for (String m : List.of("norm1", "conv1", "norm2", "conv2")) t.wb(ldm + "." + m, d + "." + m);
        t.optional = true;
        t.wb(ldm + ".nin_shortcut", d + ".conv_shortcut");
        t.optional = false;
    }

    /** AttnBlock (1x1 convs q, k, v, proj_out) -> Attention (linears to_q, to_k, to_v, to_out.0). */
    private static void vaeAttention(Table t, String ldm, String d) {
        t.wb(ldm + ".norm", d + ".group_norm");
        for (String[] p : new String[][] {{"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"}, {"proj_out", "to_out.0"}}) {
            t.w(ldm + "." + p[0] + ".weight", d + "." + p[1] + ".weight", Op.CONV1X1_TO_LINEAR);
            t.w(ldm + "." + p[0] + ".bias", d + "." + p[1] + ".bias", Op.VECTOR);
        }
    }

    // ---- text, SD2: open_clip text transformer -> transformers' CLIPTextModel ----

    private static void text(Table t, Layout l) {
        String c = TEXT;
        t.component = "text_encoder";
        t.w(c + "token_embedding.weight", "text_model.embeddings.token_embedding.weight", Op.COPY);
        t.w(c + "positional_embedding", "text_model.embeddings.position_embedding.weight", Op.COPY);
        t.w(null, "text_model.embeddings.position_ids", Op.POSITION_IDS);
        for (int i = 0; i < l.textBlocks() - 1; i++) {
            String r = c + "transformer.resblocks." + i, d = "text_model.encoder.layers." + i;
            t.wb(r + ".ln_1", d + ".layer_norm1");
            for (String s : List.of("weight", "bias")) {
                t.w(r + ".attn.in_proj_" + s, d + ".self_attn.q_proj." + s, Op.Q_ROWS);
                t.w(r + ".attn.in_proj_" + s, d + ".self_attn.k_proj." + s, Op.K_ROWS);
                t.w(r + ".attn.in_proj_" + s, d + ".self_attn.v_proj." + s, Op.V_ROWS);
            }
            t.wb(r + ".attn.out_proj", d + ".self_attn.out_proj");
            t.wb(r + ".ln_2", d + ".layer_norm2");
            t.wb(r + ".mlp.c_fc", d + ".mlp.fc1");
            t.wb(r + ".mlp.c_proj", d + ".mlp.fc2");
        }
        t.wb(c + "ln_final", "text_model.final_layer_norm");
    }

    /** SD 1.x's position-id buffer, as checkpoints store it (any dtype; diffusers' I64 arange is written instead). */
    public static final String V1_POSITION_IDS = TEXT_V1 + "text_model.embeddings.position_ids";

    // ---- text, SD 1.x: transformers' CLIPTextModel under cond_stage_model.transformer. ----

    private static void textV1(Table t, Layout l) {
        String c = TEXT_V1 + "text_model.", d = "text_model.";
        t.component = "text_encoder";
        t.w(c + "embeddings.token_embedding.weight", d + "embeddings.token_embedding.weight", Op.COPY);
        t.w(c + "embeddings.position_embedding.weight", d + "embeddings.position_embedding.weight", Op.COPY);
        t.w(null, d + "embeddings.position_ids", Op.POSITION_IDS);
        for (int i = 0; i < l.textBlocks(); i++) {
            String layer = "encoder.layers." + i + ".";
            for (String m : List.of("layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                "layer_norm2", "mlp.fc1", "mlp.fc2"))
                t.wb(c + layer + m, d + layer + m);
        }
        t.wb(c + "final_layer_norm", d + "final_layer_norm");
    }

    private static final class Table {
        final List<Rule> rules = new ArrayList<>();
        String component;
        boolean optional;

        void w(String ldm, String diffusers, Op op) { rules.add(new Rule(ldm, component, diffusers, op, optional)); }

        /** weight and bias of one module, copied. */
        void wb(String ldm, String diffusers) {
            w(ldm + ".weight", diffusers + ".weight", Op.COPY);
            w(ldm + ".bias", diffusers + ".bias", Op.COPY);
        }
    }
}
