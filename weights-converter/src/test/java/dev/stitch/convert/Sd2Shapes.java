package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensor shapes of a full-size SD2 original checkpoint (UNet 320/640/1280/1280, OpenCLIP ViT-H text tower with
 * 24 resblocks, VAE 128/256/512/512), sized the way diffusers sizes its blocks and named through {@link LdmNames};
 * and of SD 1.5's ({@link #SD15}: CLIP ViT-L text encoder, 768-wide cross-attention, 1×1-conv projections).
 * Tests use it to check config inference at real size without a 2.6 GB file; the memory probe writes it out.
 */
final class Sd2Shapes {
    static final int[] CH = {320, 640, 1280, 1280}, VAE = {128, 256, 512, 512};
    static final int VOCAB = 49408, POS = 77, LAYERS = 2, TEMB = 1280;

    /** What differs between the families at full size. */
    record Spec(LdmNames.Family family, int ctx, int text, int textFf, int textLayers, boolean linear) {
        LdmNames.Layout layout() {
            return new LdmNames.Layout(family, 4, LAYERS, new boolean[] {true, true, true, false}, 1, 4, 2,
                family == LdmNames.Family.SD2 ? textLayers + 1 : textLayers);
        }
    }

    static final Spec SD2 = new Spec(LdmNames.Family.SD2, 1024, 1024, 4096, 23, true);
    static final Spec SD15 = new Spec(LdmNames.Family.SD1, 768, 768, 3072, 12, false);

    private Sd2Shapes() {}

    /** Diffusers name ("unet/..." etc.) -> shape. */
    static Map<String, long[]> diffusers(Spec spec) {
        Map<String, long[]> m = new LinkedHashMap<>();
        // ---- UNet ----
        put(m, "unet/time_embedding.linear_1", TEMB, CH[0]);
        put(m, "unet/time_embedding.linear_2", TEMB, TEMB);
        conv(m, "unet/conv_in", CH[0], 4, 3);
        int prev = CH[0];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < LAYERS; j++) {
                unetResnet(m, "unet/down_blocks." + i + ".resnets." + j, j == 0 ? prev : CH[i], CH[i]);
                if (i < 3) transformer(m, "unet/down_blocks." + i + ".attentions." + j, CH[i], spec);
            }
            if (i < 3) conv(m, "unet/down_blocks." + i + ".downsamplers.0.conv", CH[i], CH[i], 3);
            prev = CH[i];
        }
        unetResnet(m, "unet/mid_block.resnets.0", CH[3], CH[3]);
        transformer(m, "unet/mid_block.attentions.0", CH[3], spec);
        unetResnet(m, "unet/mid_block.resnets.1", CH[3], CH[3]);
        int[] rc = {CH[3], CH[2], CH[1], CH[0]};
        for (int u = 0; u < 4; u++) {
            int out = rc[u], prevOut = rc[Math.max(u - 1, 0)], input = rc[Math.min(u + 1, 3)];
            for (int j = 0; j <= LAYERS; j++) {
                int skip = j == LAYERS ? input : out, in = (j == 0 ? prevOut : out) + skip;
                unetResnet(m, "unet/up_blocks." + u + ".resnets." + j, in, out);
                if (u > 0) transformer(m, "unet/up_blocks." + u + ".attentions." + j, out, spec);
            }
            if (u < 3) conv(m, "unet/up_blocks." + u + ".upsamplers.0.conv", out, out, 3);
        }
        put(m, "unet/conv_norm_out", CH[0]);
        conv(m, "unet/conv_out", 4, CH[0], 3);
        // ---- VAE ----
        conv(m, "vae/encoder.conv_in", VAE[0], 3, 3);
        prev = VAE[0];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) vaeResnet(m, "vae/encoder.down_blocks." + i + ".resnets." + j, j == 0 ? prev : VAE[i], VAE[i]);
            if (i < 3) conv(m, "vae/encoder.down_blocks." + i + ".downsamplers.0.conv", VAE[i], VAE[i], 3);
            prev = VAE[i];
        }
        vaeMid(m, "vae/encoder.mid_block", VAE[3]);
        put(m, "vae/encoder.conv_norm_out", VAE[3]);
        conv(m, "vae/encoder.conv_out", 8, VAE[3], 3);
        conv(m, "vae/quant_conv", 8, 8, 1);
        conv(m, "vae/post_quant_conv", 4, 4, 1);
        conv(m, "vae/decoder.conv_in", VAE[3], 4, 3);
        vaeMid(m, "vae/decoder.mid_block", VAE[3]);
        int[] vr = {VAE[3], VAE[2], VAE[1], VAE[0]};
        prev = vr[0];
        for (int u = 0; u < 4; u++) {
            for (int j = 0; j < 3; j++) vaeResnet(m, "vae/decoder.up_blocks." + u + ".resnets." + j, j == 0 ? prev : vr[u], vr[u]);
            if (u < 3) conv(m, "vae/decoder.up_blocks." + u + ".upsamplers.0.conv", vr[u], vr[u], 3);
            prev = vr[u];
        }
        put(m, "vae/decoder.conv_norm_out", VAE[0]);
        conv(m, "vae/decoder.conv_out", 3, VAE[0], 3);
        // ---- text ----
        int TEXT = spec.text(), TEXT_FF = spec.textFf();
        m.put("text_encoder/text_model.embeddings.token_embedding.weight", new long[] {VOCAB, TEXT});
        m.put("text_encoder/text_model.embeddings.position_embedding.weight", new long[] {POS, TEXT});
        for (int l = 0; l < spec.textLayers(); l++) {
            String p = "text_encoder/text_model.encoder.layers." + l;
            put(m, p + ".layer_norm1", TEXT);
            for (String q : List.of("q_proj", "k_proj", "v_proj", "out_proj")) put(m, p + ".self_attn." + q, TEXT, TEXT);
            put(m, p + ".layer_norm2", TEXT);
            put(m, p + ".mlp.fc1", TEXT_FF, TEXT);
            put(m, p + ".mlp.fc2", TEXT, TEXT_FF);
        }
        put(m, "text_encoder/text_model.final_layer_norm", TEXT);
        return m;
    }

    /**
     * LDM name -> shape, through the table read backwards (SD2: q|k|v fused, the padding block; VAE attention as 1x1
     * convs), with the tensors a release carries beyond the model (SD2's text projection, SD 1.x's position ids).
     */
    static Map<String, long[]> ldm(Spec spec) {
        Map<String, long[]> d = diffusers(spec), out = new LinkedHashMap<>();
        for (var e : LdmNames.byLdm(LdmNames.rules(spec.layout())).entrySet()) {
            LdmNames.Rule r = e.getValue().getFirst();
            long[] s = d.get(r.component() + "/" + r.diffusers());
            if (s == null) {
                if (r.optional()) continue;
                throw new IllegalStateException("no shape for " + r);
            }
            out.put(e.getKey(), switch (r.op()) {
                case COPY, VECTOR -> s;
                case CONV1X1_TO_LINEAR -> new long[] {s[0], s[1], 1, 1};
                case Q_ROWS, K_ROWS, V_ROWS -> s.length == 1 ? new long[] {3 * s[0]} : new long[] {3 * s[0], s[1]};
                case POSITION_IDS -> throw new IllegalStateException();
            });
        }
        int TEXT = spec.text(), TEXT_FF = spec.textFf();
        if (spec.family() == LdmNames.Family.SD1) {
            out.put(LdmNames.V1_POSITION_IDS, new long[] {1, POS});
            return out;
        }
        String pad = LdmNames.TEXT + "transformer.resblocks." + spec.textLayers() + ".";
        for (var e : Map.of("ln_1.weight", new long[] {TEXT}, "attn.in_proj_weight", new long[] {3 * TEXT, TEXT},
            "mlp.c_fc.weight", new long[] {TEXT_FF, TEXT}).entrySet()) out.put(pad + e.getKey(), e.getValue());
        out.put(LdmNames.TEXT + "text_projection", new long[] {TEXT, TEXT});
        return out;
    }

    /** A full-size SD2 checkpoint whose tensors hold a cheap deterministic pattern, made only when read. */
    static Checkpoint checkpoint(Path name, SafeDType dtype) { return checkpoint(SD2, name, dtype); }

    static Checkpoint checkpoint(Spec spec, Path name, SafeDType dtype) {
        Map<String, StoredTensor> m = new LinkedHashMap<>();
        for (var e : ldm(spec).entrySet()) m.put(e.getKey(), patterned(e.getKey(), dtype, e.getValue()));
        return new Checkpoint(name, Checkpoint.Format.SAFETENSORS, m);
    }

    static StoredTensor patterned(String name, SafeDType dtype, long[] shape) {
        StoredTensor probe = new StoredTensor(name, dtype, shape, null);
        long n = probe.numel();
        int seed = name.hashCode();
        return new StoredTensor(name, dtype, shape, () -> {
            MemorySegment s = MemorySegment.ofArray(new byte[Math.toIntExact(n * dtype.bytes)]);
            var le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < n; i++) s.setAtIndex(le, i, Float.floatToFloat16((((i * 2654435761L + seed) >>> 8) & 1023) / 512f - 1f));
            return s;
        });
    }

    private static void put(Map<String, long[]> m, String module, long... weightShape) {
        m.put(module + ".weight", weightShape);
        m.put(module + ".bias", new long[] {weightShape[0]});
    }

    private static void conv(Map<String, long[]> m, String module, int out, int in, int k) { put(m, module, out, in, k, k); }

    private static void unetResnet(Map<String, long[]> m, String p, int in, int out) {
        put(m, p + ".norm1", in);
        conv(m, p + ".conv1", out, in, 3);
        put(m, p + ".time_emb_proj", out, TEMB);
        put(m, p + ".norm2", out);
        conv(m, p + ".conv2", out, out, 3);
        if (in != out) conv(m, p + ".conv_shortcut", out, in, 1);
    }

    private static void transformer(Map<String, long[]> m, String p, int c, Spec spec) {
        put(m, p + ".norm", c);
        if (spec.linear()) {
            put(m, p + ".proj_in", c, c);
            put(m, p + ".proj_out", c, c);
        } else {
            conv(m, p + ".proj_in", c, c, 1);
            conv(m, p + ".proj_out", c, c, 1);
        }
        String b = p + ".transformer_blocks.0.";
        for (String n : List.of("norm1", "norm2", "norm3")) put(m, b + n, c);
        for (String a : List.of("attn1", "attn2")) {
            int kv = a.equals("attn1") ? c : spec.ctx();
            m.put(b + a + ".to_q.weight", new long[] {c, c});
            m.put(b + a + ".to_k.weight", new long[] {c, kv});
            m.put(b + a + ".to_v.weight", new long[] {c, kv});
            put(m, b + a + ".to_out.0", c, c);
        }
        put(m, b + "ff.net.0.proj", 8L * c, c);
        put(m, b + "ff.net.2", c, 4L * c);
    }

    private static void vaeResnet(Map<String, long[]> m, String p, int in, int out) {
        put(m, p + ".norm1", in);
        conv(m, p + ".conv1", out, in, 3);
        put(m, p + ".norm2", out);
        conv(m, p + ".conv2", out, out, 3);
        if (in != out) conv(m, p + ".conv_shortcut", out, in, 1);
    }

    private static void vaeMid(Map<String, long[]> m, String p, int c) {
        vaeResnet(m, p + ".resnets.0", c, c);
        put(m, p + ".attentions.0.group_norm", c);
        for (String q : List.of("to_q", "to_k", "to_v", "to_out.0")) put(m, p + ".attentions.0." + q, c, c);
        vaeResnet(m, p + ".resnets.1", c, c);
    }
}
