package dev.stitch.eval.clip;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Taps;
import dev.stitch.eval.Golden;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.reference.ReferenceBackend;
import dev.stitch.kernels.Backends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Tiny random-weight CLIP models against the PyTorch mirror of transformers' CLIPModel (make_eval_goldens.py): one
 * with quick_gelu and the legacy eos_token_id 2 (as openai's), one with gelu and a real eos_token_id.
 */
class ClipModelGoldenTest {

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"tiny-clip, reference", "tiny-clip-gelu, reference", "tiny-clip, cpu", "tiny-clip-gelu, cpu"})
    void matchesTheTorchMirror(String model, String device) {
        ClipModel clip = ClipModel.load(Golden.resource("clip/" + model));
        SafeTensors g = Golden.open("clip/" + model + "_golden.safetensors");
        Map<String, Tensor> taps = new LinkedHashMap<>();
        Ctx c = new Ctx(Backends.byName(device), recorder(taps));
        String name = model + " " + device;

        List<RgbImage> images = List.of(Golden.image(g, "image0"), Golden.image(g, "image1"));
        Tensor pixels = clip.processor.pixelValues(images);
        Golden.assertClose(name + " pixel_values", g.tensor("pixel_values"), pixels, 1e-6);

        Golden.assertClose(name + " image_features", g.tensor("image_features"), clip.imageFeatures(c, pixels), Golden.TOLERANCE);
        Golden.assertClose(name + " vision last_hidden_state", g.tensor("vision_last_hidden_state"),
            taps.get("clip.vision_model.encoder.layers.1"), Golden.TOLERANCE);
        Golden.assertClose(name + " vision pooled", g.tensor("vision_pooled"), taps.get("clip.vision_model.post_layernorm"), Golden.TOLERANCE);
        Golden.assertClose(name + " image_embeds", g.tensor("image_embeds").data(), Golden.flat(clip.imageEmbeds(c, images)), Golden.TOLERANCE);

        int[][] ids = ids(g);
        Golden.assertClose(name + " text_features", g.tensor("text_features"), clip.textFeatures(c, ids), Golden.TOLERANCE);
        Golden.assertClose(name + " text last_hidden_state", g.tensor("text_last_hidden_state"),
            taps.get("clip.text_model.final_layer_norm"), Golden.TOLERANCE);
        Golden.assertClose(name + " text_embeds", g.tensor("text_embeds").data(), Golden.flat(clip.textEmbeds(c, ids)), Golden.TOLERANCE);
        assertEquals(Math.exp(2.6592), clip.logitScale(), 1e-4);
    }

    @org.junit.jupiter.api.Test
    void tapsFollowTheModuleTree() {
        ClipModel clip = ClipModel.load(Golden.resource("clip/tiny-clip"));
        Map<String, Tensor> taps = new LinkedHashMap<>();
        Ctx c = new Ctx(ReferenceBackend.INSTANCE, recorder(taps));
        clip.imageFeatures(c, Golden.open("clip/tiny-clip_golden.safetensors").tensor("pixel_values"));
        List<String> layer0 = List.of("layer_norm1", "self_attn", "layer_norm2", "mlp");
        List<String> expected = new java.util.ArrayList<>(List.of("clip.vision_model.embeddings", "clip.vision_model.pre_layrnorm"));
        for (int i = 0; i < 2; i++) {
            String l = "clip.vision_model.encoder.layers." + i;
            for (String s : layer0) expected.add(l + "." + s);
            expected.add(l);
        }
        expected.addAll(List.of("clip.vision_model.post_layernorm", "clip.visual_projection"));
        assertEquals(expected, List.copyOf(taps.keySet()));
        assertArrayEquals(new int[]{2, 17, 32}, taps.get("clip.vision_model.embeddings").shape());   // class token + 4×4 patches
        assertArrayEquals(new int[]{2, 24}, taps.get("clip.visual_projection").shape());
    }

    static int[][] ids(SafeTensors g) {
        int[] s = g.entry("input_ids").intShape();
        long[] v = g.longs("input_ids");
        int[][] ids = new int[s[0]][s[1]];
        for (int i = 0; i < s[0]; i++)
            for (int j = 0; j < s[1]; j++) ids[i][j] = Math.toIntExact(v[i * s[1] + j]);
        return ids;
    }

    static Taps recorder(Map<String, Tensor> into) {
        return (name, layout, value, call) -> {
            into.put(name, value);
            return value;
        };
    }
}
