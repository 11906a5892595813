package dev.stitch.convert;

import dev.stitch.convert.LdmNames.Op;
import dev.stitch.convert.LdmNames.Rule;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** One test per rule family of the LDM <-> diffusers name table, on SD2's real layout. */
class LdmNamesTest {
    /** SD2 (base and 768-v): 4 UNet levels of 2 resnets, attention on the first three, VAE 4 x 2, open_clip ViT-H (24 blocks). */
    static final LdmNames.Layout SD2 = new LdmNames.Layout(LdmNames.Family.SD2, 4, 2, new boolean[] {true, true, true, false}, 1, 4, 2, 24);
    static final List<Rule> RULES = LdmNames.rules(SD2);
    static final Map<String, List<Rule>> BY_LDM = LdmNames.byLdm(RULES);

    private static Rule rule(String ldm) {
        List<Rule> r = BY_LDM.get(ldm);
        assertNotNull(r, "no rule for " + ldm);
        assertEquals(1, r.size(), ldm);
        return r.getFirst();
    }

    private static void maps(String ldm, String component, String diffusers) {
        Rule r = rule(ldm);
        assertEquals(component, r.component(), ldm);
        assertEquals(diffusers, r.diffusers(), ldm);
    }

    private static final String U = "model.diffusion_model.";

    @Test
    void unetStemAndHead() {
        maps(U + "time_embed.0.weight", "unet", "time_embedding.linear_1.weight");
        maps(U + "time_embed.2.bias", "unet", "time_embedding.linear_2.bias");
        maps(U + "input_blocks.0.0.weight", "unet", "conv_in.weight");
        maps(U + "out.0.weight", "unet", "conv_norm_out.weight");
        maps(U + "out.2.bias", "unet", "conv_out.bias");
    }

    @Test
    void unetResnetParts() {
        maps(U + "input_blocks.4.0.in_layers.0.weight", "unet", "down_blocks.1.resnets.0.norm1.weight");
        maps(U + "input_blocks.4.0.in_layers.2.weight", "unet", "down_blocks.1.resnets.0.conv1.weight");
        maps(U + "input_blocks.4.0.emb_layers.1.weight", "unet", "down_blocks.1.resnets.0.time_emb_proj.weight");
        maps(U + "input_blocks.4.0.out_layers.0.bias", "unet", "down_blocks.1.resnets.0.norm2.bias");
        maps(U + "input_blocks.4.0.out_layers.3.weight", "unet", "down_blocks.1.resnets.0.conv2.weight");
        Rule skip = rule(U + "input_blocks.4.0.skip_connection.weight");
        assertEquals("down_blocks.1.resnets.0.conv_shortcut.weight", skip.diffusers());
        assertTrue(skip.optional(), "a shortcut exists only where the channel count changes");
        assertFalse(rule(U + "input_blocks.4.0.in_layers.2.weight").optional());
    }

    @Test
    void unetDownLevelsAndDownsamplers() {
        maps(U + "input_blocks.1.0.in_layers.0.weight", "unet", "down_blocks.0.resnets.0.norm1.weight");
        maps(U + "input_blocks.2.0.in_layers.0.weight", "unet", "down_blocks.0.resnets.1.norm1.weight");
        maps(U + "input_blocks.3.0.op.weight", "unet", "down_blocks.0.downsamplers.0.conv.weight");
        maps(U + "input_blocks.6.0.op.bias", "unet", "down_blocks.1.downsamplers.0.conv.bias");
        maps(U + "input_blocks.9.0.op.weight", "unet", "down_blocks.2.downsamplers.0.conv.weight");
        maps(U + "input_blocks.11.0.out_layers.3.weight", "unet", "down_blocks.3.resnets.1.conv2.weight");
        assertNull(BY_LDM.get(U + "input_blocks.12.0.op.weight"), "the last level does not downsample");
        assertNull(BY_LDM.get(U + "input_blocks.10.1.proj_in.weight"), "the last level has no attention in SD2");
    }

    @Test
    void unetAttention() {
        String a = U + "input_blocks.5.1.";
        maps(a + "norm.weight", "unet", "down_blocks.1.attentions.1.norm.weight");
        maps(a + "proj_in.weight", "unet", "down_blocks.1.attentions.1.proj_in.weight");
        maps(a + "proj_out.bias", "unet", "down_blocks.1.attentions.1.proj_out.bias");
        for (String attn : List.of("attn1", "attn2")) {
            for (String p : List.of("to_q", "to_k", "to_v"))
                maps(a + "transformer_blocks.0." + attn + "." + p + ".weight", "unet", "down_blocks.1.attentions.1.transformer_blocks.0." + attn + "." + p + ".weight");
            assertNull(BY_LDM.get(a + "transformer_blocks.0." + attn + ".to_q.bias"), "q/k/v projections have no bias");
            maps(a + "transformer_blocks.0." + attn + ".to_out.0.bias", "unet", "down_blocks.1.attentions.1.transformer_blocks.0." + attn + ".to_out.0.bias");
        }
        maps(a + "transformer_blocks.0.ff.net.0.proj.weight", "unet", "down_blocks.1.attentions.1.transformer_blocks.0.ff.net.0.proj.weight");
        maps(a + "transformer_blocks.0.ff.net.2.weight", "unet", "down_blocks.1.attentions.1.transformer_blocks.0.ff.net.2.weight");
        maps(a + "transformer_blocks.0.norm3.weight", "unet", "down_blocks.1.attentions.1.transformer_blocks.0.norm3.weight");
    }

    @Test
    void unetMiddleBlock() {
        maps(U + "middle_block.0.in_layers.2.weight", "unet", "mid_block.resnets.0.conv1.weight");
        maps(U + "middle_block.1.proj_in.weight", "unet", "mid_block.attentions.0.proj_in.weight");
        maps(U + "middle_block.1.transformer_blocks.0.attn2.to_k.weight", "unet", "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight");
        maps(U + "middle_block.2.out_layers.3.bias", "unet", "mid_block.resnets.1.conv2.bias");
    }

    @Test
    void unetUpLevelsAndUpsamplers() {
        // up_blocks.0 mirrors the deepest level (no attention): its upsampler is the block's 2nd module
        maps(U + "output_blocks.0.0.in_layers.0.weight", "unet", "up_blocks.0.resnets.0.norm1.weight");
        maps(U + "output_blocks.2.0.skip_connection.weight", "unet", "up_blocks.0.resnets.2.conv_shortcut.weight");
        maps(U + "output_blocks.2.1.conv.weight", "unet", "up_blocks.0.upsamplers.0.conv.weight");
        // with attention the upsampler is the 3rd module
        maps(U + "output_blocks.3.1.proj_in.weight", "unet", "up_blocks.1.attentions.0.proj_in.weight");
        maps(U + "output_blocks.5.2.conv.bias", "unet", "up_blocks.1.upsamplers.0.conv.bias");
        maps(U + "output_blocks.8.2.conv.weight", "unet", "up_blocks.2.upsamplers.0.conv.weight");
        maps(U + "output_blocks.11.1.transformer_blocks.0.attn2.to_out.0.weight", "unet", "up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0.weight");
        assertNull(BY_LDM.get(U + "output_blocks.11.2.conv.weight"), "the last up block does not upsample");
        assertNull(BY_LDM.get(U + "output_blocks.2.2.conv.weight"));
    }

    private static final String V = "first_stage_model.";

    @Test
    void vaeEncoder() {
        maps(V + "encoder.conv_in.weight", "vae", "encoder.conv_in.weight");
        maps(V + "encoder.down.1.block.0.conv1.weight", "vae", "encoder.down_blocks.1.resnets.0.conv1.weight");
        maps(V + "encoder.down.2.downsample.conv.weight", "vae", "encoder.down_blocks.2.downsamplers.0.conv.weight");
        assertNull(BY_LDM.get(V + "encoder.down.3.downsample.conv.weight"));
        Rule nin = rule(V + "encoder.down.1.block.0.nin_shortcut.weight");
        assertEquals("encoder.down_blocks.1.resnets.0.conv_shortcut.weight", nin.diffusers());
        assertTrue(nin.optional());
        maps(V + "encoder.mid.block_1.norm1.weight", "vae", "encoder.mid_block.resnets.0.norm1.weight");
        maps(V + "encoder.mid.block_2.conv2.bias", "vae", "encoder.mid_block.resnets.1.conv2.bias");
        maps(V + "encoder.norm_out.weight", "vae", "encoder.conv_norm_out.weight");
        maps(V + "encoder.conv_out.weight", "vae", "encoder.conv_out.weight");
        maps(V + "quant_conv.weight", "vae", "quant_conv.weight");
        maps(V + "post_quant_conv.bias", "vae", "post_quant_conv.bias");
    }

    @Test
    void vaeDecoderUpBlocksAreReversed() {
        maps(V + "decoder.up.3.block.0.conv1.weight", "vae", "decoder.up_blocks.0.resnets.0.conv1.weight");
        maps(V + "decoder.up.3.upsample.conv.weight", "vae", "decoder.up_blocks.0.upsamplers.0.conv.weight");
        maps(V + "decoder.up.1.upsample.conv.bias", "vae", "decoder.up_blocks.2.upsamplers.0.conv.bias");
        maps(V + "decoder.up.0.block.2.norm2.weight", "vae", "decoder.up_blocks.3.resnets.2.norm2.weight");
        assertNull(BY_LDM.get(V + "decoder.up.0.upsample.conv.weight"), "the full-resolution level does not upsample");
        maps(V + "decoder.norm_out.bias", "vae", "decoder.conv_norm_out.bias");
    }

    @Test
    void vaeMidAttentionConvsBecomeLinears() {
        String a = V + "decoder.mid.attn_1.";
        assertEquals(Op.COPY, rule(a + "norm.weight").op());
        maps(a + "norm.weight", "vae", "decoder.mid_block.attentions.0.group_norm.weight");
        for (String[] p : new String[][] {{"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"}, {"proj_out", "to_out.0"}}) {
            Rule w = rule(a + p[0] + ".weight"), b = rule(a + p[0] + ".bias");
            assertEquals("decoder.mid_block.attentions.0." + p[1] + ".weight", w.diffusers());
            assertEquals(Op.CONV1X1_TO_LINEAR, w.op());
            assertEquals("decoder.mid_block.attentions.0." + p[1] + ".bias", b.diffusers());
            assertEquals(Op.VECTOR, b.op());   // [C], or [C, 1, 1] as diffusers' own script writes it
        }
    }

    private static final String T = "cond_stage_model.model.";

    @Test
    void textEmbeddingsAndFinalNorm() {
        maps(T + "token_embedding.weight", "text_encoder", "text_model.embeddings.token_embedding.weight");
        maps(T + "positional_embedding", "text_encoder", "text_model.embeddings.position_embedding.weight");
        maps(T + "ln_final.weight", "text_encoder", "text_model.final_layer_norm.weight");
        Rule ids = RULES.stream().filter(r -> r.diffusers().equals("text_model.embeddings.position_ids")).findFirst().orElseThrow();
        assertNull(ids.ldm());
        assertEquals(Op.POSITION_IDS, ids.op());
    }

    @Test
    void textResblockParts() {
        String r = T + "transformer.resblocks.7.";
        maps(r + "ln_1.weight", "text_encoder", "text_model.encoder.layers.7.layer_norm1.weight");
        maps(r + "attn.out_proj.weight", "text_encoder", "text_model.encoder.layers.7.self_attn.out_proj.weight");
        maps(r + "ln_2.bias", "text_encoder", "text_model.encoder.layers.7.layer_norm2.bias");
        maps(r + "mlp.c_fc.weight", "text_encoder", "text_model.encoder.layers.7.mlp.fc1.weight");
        maps(r + "mlp.c_proj.bias", "text_encoder", "text_model.encoder.layers.7.mlp.fc2.bias");
    }

    @Test
    void textFusedProjectionSplitsIntoQKV() {
        for (String s : List.of("weight", "bias")) {
            List<Rule> split = BY_LDM.get(T + "transformer.resblocks.0.attn.in_proj_" + s);
            assertEquals(3, split.size());
            assertEquals(List.of(Op.Q_ROWS, Op.K_ROWS, Op.V_ROWS), split.stream().map(Rule::op).toList());
            assertEquals(List.of("q_proj", "k_proj", "v_proj").stream().map(p -> "text_model.encoder.layers.0.self_attn." + p + "." + s).toList(),
                split.stream().map(Rule::diffusers).toList());
        }
    }

    @Test
    void lastTextResblockIsDroppedOnPurpose() {
        assertNotNull(BY_LDM.get(T + "transformer.resblocks.22.ln_1.weight"));
        assertNull(BY_LDM.get(T + "transformer.resblocks.23.ln_1.weight"));
        List<LdmNames.Ignored> ignored = LdmNames.ignored(SD2);
        for (String k : List.of(T + "transformer.resblocks.23.mlp.c_fc.weight", T + "text_projection", T + "logit_scale",
            "alphas_cumprod", "betas", "model_ema.decay", "model_ema.diffusion_modelinput_blocks00weight"))
            assertTrue(ignored.stream().anyMatch(i -> i.matches(k)), k + " should be ignored on purpose");
        assertFalse(ignored.stream().anyMatch(i -> i.matches(T + "transformer.resblocks.22.ln_1.weight")));
        assertFalse(ignored.stream().anyMatch(i -> i.matches("betas_extra")), "exact names match exactly");
    }

    @Test
    void everyDiffusersNameIsUniqueAndCountsMatchSd2() {
        Set<String> seen = new HashSet<>();
        for (Rule r : RULES) assertTrue(seen.add(r.component() + "/" + r.diffusers()), "duplicate " + r);
        // SD2's diffusers folders hold 686 UNet tensors (28 of them in the 14 resnets that change width), 248 VAE
        // tensors (8 in its 4 shortcut convs); the text encoder has 23 layers of 16 tensors plus the two embeddings,
        // position_ids and the final norm's weight and bias.
        assertEquals(686 - 28, count("unet", false));
        assertEquals(22 * 2, count("unet", true), "a shortcut slot in each of the 22 resnets");
        assertEquals(248 - 8, count("vae", false));
        assertEquals(23 * 16 + 5, count("text_encoder", false));
    }

    private static long count(String component, boolean optional) {
        return RULES.stream().filter(r -> r.component().equals(component) && r.optional() == optional).count();
    }

    /** SD 1.x: the text encoder is transformers' CLIPTextModel under cond_stage_model.transformer., all layers used. */
    @Test
    void sd1TextEncoderKeepsTransformersNames() {
        var l = new LdmNames.Layout(LdmNames.Family.SD1, 4, 2, new boolean[] {true, true, true, false}, 1, 4, 2, 12);
        var byLdm = LdmNames.byLdm(LdmNames.rules(l));
        String p = LdmNames.TEXT_V1 + "text_model.";
        for (String n : List.of("embeddings.token_embedding.weight", "encoder.layers.11.self_attn.q_proj.weight", "encoder.layers.0.mlp.fc2.bias",
            "final_layer_norm.weight")) {
            Rule r = byLdm.get(p + n).getFirst();
            assertEquals("text_encoder", r.component());
            assertEquals("text_model." + n, r.diffusers());
            assertEquals(Op.COPY, r.op());
        }
        assertFalse(byLdm.containsKey(p + "encoder.layers.12.layer_norm1.weight"));
        assertTrue(LdmNames.ignored(l).stream().anyMatch(i -> i.matches(LdmNames.V1_POSITION_IDS)));
        assertTrue(LdmNames.rules(l).stream().noneMatch(r -> r.ldm() != null && r.ldm().startsWith(LdmNames.TEXT)), "no open_clip names");
    }
}
