package dev.stitch.engine.taps;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.ResnetBlock2D;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A tiny stand-in for text encoder + UNet with SD2's tap names and layouts, computing with whatever backend the
 * Ctx holds: embeddings, a pre-LN layer, cross-attention inside a transformer block, real ResnetBlock2Ds, a
 * down-sampler and an up-block with a skip concatenation.
 */
final class SyntheticModel {
    static final int VOCAB = 60, L = 7, C = 8, LATENT = 4, H = 4, W = 6, HEADS = 2, GROUPS = 4;

    /** Every tap, in call order. */
    static final List<String> TAPS = List.of(
        "text_encoder.text_model.embeddings",
        "text_encoder.text_model.encoder.layers.0",
        "text_encoder.text_model.final_layer_norm",
        "unet.conv_in",
        "unet.down_blocks.0.resnets.0",
        "unet.down_blocks.0.attentions.0.proj_in",
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2",
        "unet.down_blocks.0.attentions.0.transformer_blocks.0",
        "unet.down_blocks.0.attentions.0",
        "unet.down_blocks.0.downsamplers.0",
        "unet.down_blocks.0",
        "unet.mid_block.resnets.0",
        "unet.mid_block",
        "unet.up_blocks.0",
        "unet.conv_out");

    private final Random rnd;
    private final Map<String, Tensor> te = new LinkedHashMap<>(), un = new LinkedHashMap<>();
    private final ResnetBlock2D resnet, midResnet;

    SyntheticModel(long seed) {
        rnd = new Random(seed);
        p(te, "text_model.embeddings.token_embedding.weight", VOCAB, C);
        p(te, "text_model.encoder.layers.0.layer_norm1.weight", C);
        p(te, "text_model.encoder.layers.0.layer_norm1.bias", C);
        p(te, "text_model.encoder.layers.0.mlp.fc1.weight", 2 * C, C);
        p(te, "text_model.encoder.layers.0.mlp.fc1.bias", 2 * C);
        p(te, "text_model.encoder.layers.0.mlp.fc2.weight", C, 2 * C);
        p(te, "text_model.encoder.layers.0.mlp.fc2.bias", C);
        p(te, "text_model.final_layer_norm.weight", C);
        p(te, "text_model.final_layer_norm.bias", C);

        p(un, "conv_in.weight", C, LATENT, 3, 3);
        p(un, "conv_in.bias", C);
        resnetWeights("down_blocks.0.resnets.0");
        String a = "down_blocks.0.attentions.0.";
        p(un, a + "norm.weight", C);
        p(un, a + "norm.bias", C);
        p(un, a + "proj_in.weight", C, C);
        p(un, a + "proj_in.bias", C);
        for (String n : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) p(un, a + "transformer_blocks.0.attn2." + n + ".weight", C, C);
        p(un, a + "proj_out.weight", C, C);
        p(un, a + "proj_out.bias", C);
        p(un, "down_blocks.0.downsamplers.0.conv.weight", C, C, 3, 3);
        p(un, "down_blocks.0.downsamplers.0.conv.bias", C);
        resnetWeights("mid_block.resnets.0");
        p(un, "up_blocks.0.conv.weight", C, 2 * C, 3, 3);
        p(un, "up_blocks.0.conv.bias", C);
        p(un, "conv_out.weight", LATENT, C, 3, 3);
        p(un, "conv_out.bias", LATENT);

        Weights w = Weights.of("unet", "synthetic", un);
        resnet = new ResnetBlock2D(w.pp("down_blocks").pp(0).pp("resnets").pp(0), C, C, 0, GROUPS, 1e-5f);
        midResnet = new ResnetBlock2D(w.pp("mid_block").pp("resnets").pp(0), C, C, 0, GROUPS, 1e-5f);
    }

    private void resnetWeights(String at) {
        for (String n : new String[] {"norm1", "norm2"}) {
            p(un, at + "." + n + ".weight", C);
            p(un, at + "." + n + ".bias", C);
        }
        for (String n : new String[] {"conv1", "conv2"}) {
            p(un, at + "." + n + ".weight", C, C, 3, 3);
            p(un, at + "." + n + ".bias", C);
        }
    }

    private void p(Map<String, Tensor> m, String name, int... shape) { m.put(name, random(rnd, shape)); }

    static Tensor random(Random r, int... shape) {
        float[] d = new float[Math.toIntExact(Tensor.count(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * 0.5);
        return Tensor.of(d, shape);
    }

    /** Token ids like CLIP's: BOS (VOCAB−2), words, EOS (VOCAB−1, the largest id), then pad 0. */
    static int[][] tokens(int... words) {
        int[][] ids = new int[words.length][L];
        for (int b = 0; b < words.length; b++) {
            ids[b][0] = VOCAB - 2;
            for (int i = 1; i <= words[b]; i++) ids[b][i] = 1 + (7 * b + 3 * i) % (VOCAB - 3);
            ids[b][words[b] + 1] = VOCAB - 1;
        }
        return ids;
    }

    Tensor encode(Ctx c, int[][] ids) {
        var ops = c.ops();
        int b = ids.length;
        int[] flat = new int[b * L];
        for (int i = 0; i < b; i++) System.arraycopy(ids[i], 0, flat, i * L, L);
        Tensor x = ops.embedding(te.get("text_model.embeddings.token_embedding.weight"), flat).reshape(b, L, C);
        x = c.tap("text_encoder.text_model.embeddings", TapLayout.NLC, x);
        String l = "text_model.encoder.layers.0.";
        Tensor h = ops.layerNorm(x, te.get(l + "layer_norm1.weight"), te.get(l + "layer_norm1.bias"), 1e-5f);
        h = ops.linear(h, te.get(l + "mlp.fc1.weight"), te.get(l + "mlp.fc1.bias"), Activation.GELU);
        h = ops.linear(h, te.get(l + "mlp.fc2.weight"), te.get(l + "mlp.fc2.bias"), Activation.NONE);
        x = c.tap("text_encoder.text_model.encoder.layers.0", TapLayout.NLC, ops.add(x, h));
        x = ops.layerNorm(x, te.get("text_model.final_layer_norm.weight"), te.get("text_model.final_layer_norm.bias"), 1e-5f);
        return c.tap("text_encoder.text_model.final_layer_norm", TapLayout.NLC, x);
    }

    /** latents [B, LATENT, H, W], text [B, L, C] → [B, LATENT, H, W]. */
    Tensor unet(Ctx c, Tensor latents, Tensor text) {
        var ops = c.ops();
        int b = latents.dim(0), h = latents.dim(2), w = latents.dim(3);
        Tensor x = c.tap("unet.conv_in", TapLayout.NCHW, ops.conv2d(latents, un.get("conv_in.weight"), un.get("conv_in.bias"), 1, 1));
        x = resnet.forward(c, x, null);

        String a = "down_blocks.0.attentions.0.";
        Tensor t = ops.groupNorm(x, GROUPS, un.get(a + "norm.weight"), un.get(a + "norm.bias"), 1e-6f, false);
        t = ops.linear(ops.nchwToNlc(t), un.get(a + "proj_in.weight"), un.get(a + "proj_in.bias"), Activation.NONE);
        t = c.tap("unet." + a + "proj_in", TapLayout.NLC, t);
        String at = a + "transformer_blocks.0.attn2.";
        Tensor q = ops.linear(t, un.get(at + "to_q.weight"), null, Activation.NONE);
        Tensor k = ops.linear(text, un.get(at + "to_k.weight"), null, Activation.NONE);
        Tensor v = ops.linear(text, un.get(at + "to_v.weight"), null, Activation.NONE);
        Tensor attn = ops.attention(q, k, v, HEADS, (float) (1 / Math.sqrt(C / HEADS)), false);
        attn = ops.linear(attn, un.get(at + "to_out.0.weight"), null, Activation.NONE);
        attn = c.tap("unet." + a + "transformer_blocks.0.attn2", TapLayout.NLC, attn);
        t = c.tap("unet." + a + "transformer_blocks.0", TapLayout.NLC, ops.add(t, attn));
        t = ops.linear(t, un.get(a + "proj_out.weight"), un.get(a + "proj_out.bias"), Activation.NONE);
        x = c.tap("unet.down_blocks.0.attentions.0", TapLayout.NCHW, ops.add(ops.nlcToNchw(t, h, w), x));
        Tensor skip = x;

        x = ops.conv2d(x, un.get("down_blocks.0.downsamplers.0.conv.weight"), un.get("down_blocks.0.downsamplers.0.conv.bias"), 2, 1);
        x = c.tap("unet.down_blocks.0.downsamplers.0", TapLayout.NCHW, x);
        x = c.tap("unet.down_blocks.0", TapLayout.NCHW, x);
        x = c.tap("unet.mid_block", TapLayout.NCHW, midResnet.forward(c, x, null));

        x = ops.concat(1, ops.upsampleNearest(x, h, w), skip);
        x = c.tap("unet.up_blocks.0", TapLayout.NCHW, ops.conv2d(x, un.get("up_blocks.0.conv.weight"), un.get("up_blocks.0.conv.bias"), 1, 1));
        return c.tap("unet.conv_out", TapLayout.NCHW, ops.conv2d(x, un.get("conv_out.weight"), un.get("conv_out.bias"), 1, 1));
    }

    /** Text encoder then one UNet call with each latent row conditioned on its prompt. */
    Tensor forward(Ctx c, Tensor latents, int[][] ids) { return unet(c, latents, encode(c, ids)); }

    /**
     * A guided denoising loop as the pipeline runs it, with the model calls that tell taps where they are: the text
     * encoder on [negatives, prompts] with their token ids, then per step a CFG batch of 2n rows.
     */
    Tensor generate(Ctx c, Tensor latents, int[][] negativeIds, int[][] promptIds, int steps) {
        var ops = c.ops();
        int n = promptIds.length;
        int[][] ids = new int[2 * n][];
        System.arraycopy(negativeIds, 0, ids, 0, n);
        System.arraycopy(promptIds, 0, ids, n, n);
        Tensor text = encode(c.at(ModelCall.outside(TapContext.Rows.cfg(n).withTokens(ids))), ids);
        for (int s = 0; s < steps; s++) {
            Tensor out = unet(c.at(ModelCall.step(s, 999 - 333.0 * s, TapContext.Rows.cfg(n))), ops.concat(0, latents, latents), text);
            Tensor uncond = ops.slice(out, 0, 0, n), cond = ops.slice(out, 0, n, 2 * n);
            Tensor guided = ops.add(uncond, ops.scale(ops.add(cond, ops.scale(uncond, -1)), 3f));
            latents = ops.add(latents, ops.scale(guided, -0.1f));
        }
        return latents;
    }
}
