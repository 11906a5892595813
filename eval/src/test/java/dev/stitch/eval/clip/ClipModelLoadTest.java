package dev.stitch.eval.clip;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.kernels.reference.ReferenceBackend;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.eval.Golden;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiPredicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading CLIP folders: what real files contain besides the weights, and one-line errors for what does not fit. */
class ClipModelLoadTest {
    @TempDir Path tmp;

    /** A copy of the tiny model with the tensors {@code keep} accepts, plus {@code extra} if not null. */
    Path copy(BiPredicate<String, int[]> keep, String extra, int... extraShape) throws IOException {
        Path src = Golden.resource("clip/tiny-clip"), dir = Files.createDirectories(tmp.resolve("clip"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(src.resolve("preprocessor_config.json"), dir.resolve("preprocessor_config.json"));
        SafeTensors st = SafeTensors.open(src.resolve("model.safetensors"));
        SafeTensorsWriter out = new SafeTensorsWriter();
        for (String n : st.names()) if (keep.test(n, st.entry(n).intShape())) out.add(n, st.entry(n).dtype(), st.entry(n).shape(), st.bytes(n));
        if (extra != null) {
            if (extra.endsWith("position_ids")) {
                long[] ids = new long[extraShape[1]];
                for (int i = 0; i < ids.length; i++) ids[i] = i;
                out.addI64(extra, ids, extraShape);
            } else out.addF32(extra, new float[Math.toIntExact(dev.stitch.kernels.Tensor.count(extraShape))], extraShape);
        }
        out.write(dir.resolve("model.safetensors"));
        return dir;
    }

    static String message(Path dir) { return assertThrows(UserError.class, () -> ClipModel.load(dir)).getMessage(); }

    @Test
    void positionIdsBuffersOfOlderCheckpointsAreAccepted() throws IOException {
        Path dir = copy((n, s) -> true, "vision_model.embeddings.position_ids", 1, 17);
        ClipModel clip = ClipModel.load(dir);
        assertEquals(24, clip.config.projectionDim());
    }

    @Test
    void missingFolderAndWeightsAreNamed() throws IOException {
        assertTrue(message(tmp.resolve("nope")).contains("not a folder"));
        Path dir = copy((n, s) -> true, null);
        Files.delete(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        String m = message(dir);
        assertTrue(m.contains("no model.safetensors") && m.contains("pytorch_model.bin must be converted"), m);
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        String m = message(copy((n, s) -> !n.equals("text_projection.weight"), null));
        assertTrue(m.contains("missing tensor 'text_projection.weight'"), m);
    }

    @Test
    void anUnknownTensorIsNamed() throws IOException {
        String m = message(copy((n, s) -> true, "vision_model.head.weight", 2, 2));
        assertTrue(m.contains("vision_model.head.weight") && m.contains("does not have"), m);
    }

    @Test
    void aConfigThatDoesNotMatchTheWeightsIsCaught() throws IOException {
        Path dir = copy((n, s) -> true, null);
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")).replace("\"patch_size\": 8", "\"patch_size\": 16"));
        String m = message(dir);
        assertTrue(m.contains("vision_model.embeddings.patch_embedding.weight") && m.contains("expected [32, 3, 16, 16]"), m);
    }

    @Test
    void badConfigValuesAreNamed() throws IOException {
        Path dir = copy((n, s) -> true, null);
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config.replaceFirst("\"hidden_act\": \"quick_gelu\"", "\"hidden_act\": \"relu\""));
        assertTrue(message(dir).contains("hidden_act 'relu' is not supported"), message(dir));
        Files.writeString(dir.resolve("config.json"), config.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": \"four\""));
        assertTrue(message(dir).contains("num_attention_heads must be a positive integer"), message(dir));
        Files.writeString(dir.resolve("config.json"), "{not json");
        assertTrue(message(dir).contains("not valid JSON"), message(dir));
    }

    @Test
    void thePreprocessorMustCropToTheModelsSize() throws IOException {
        Path dir = copy((n, s) -> true, null);
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"size\": {\"shortest_edge\": 224}, \"crop_size\": {\"height\": 224, \"width\": 224}}");
        assertTrue(message(dir).contains("must center-crop to the model's image_size 32"), message(dir));
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"resample\": 2}");
        assertTrue(message(dir).contains("resample must be 3"), message(dir));
        Files.delete(dir.resolve("preprocessor_config.json"));   // absent: CLIP's defaults at the model's size
        ClipImageProcessor p = ClipModel.load(dir).processor;
        assertEquals(32, p.shortestEdge());
        assertEquals(32, p.cropHeight());
    }

    @Test
    void oldStyleConfigsKeepTheTowersUnderDictKeys() throws IOException {
        Path dir = copy((n, s) -> true, null);
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
            .replace("\"text_config\"", "\"text_config_dict\"").replace("\"vision_config\"", "\"vision_config_dict\""));
        assertEquals(40, ClipModel.load(dir).config.text().hiddenSize());
    }

    @Test
    void promptsAreTokenizedByTheFoldersTokenizer() throws IOException {
        Path dir = copy((n, s) -> true, null);
        Ctx c = new Ctx(ReferenceBackend.INSTANCE);
        String m = assertThrows(UserError.class, () -> ClipModel.load(dir).textEmbeds(c, List.of("ab"))).getMessage();
        assertTrue(m.contains("no tokenizer"), m);
        // A hand-made byte-level BPE vocabulary inside the tiny model's 300 ids; BOS and EOS as the goldens use them.
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 12, \"b\": 11, \"a</w>\": 10, \"b</w>\": 13, \"ab</w>\": 14, "
            + "\"c</w>\": 15, \"<|startoftext|>\": 298, \"<|endoftext|>\": 299}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b</w>\n");
        ClipModel clip = ClipModel.load(dir);
        int[] expected = new int[77];
        Arrays.fill(expected, 299);   // openai's tokenizers pad with EOS
        expected[0] = 298;
        expected[1] = 14;
        expected[2] = 15;
        assertArrayEquals(expected, clip.tokenizer.encode("AB  c", ClipTokenizer.Mode.DIFFUSERS));
        float[][] fromText = clip.textEmbeds(c, List.of("AB  c")), fromIds = clip.textEmbeds(c, new int[][]{expected});
        assertArrayEquals(fromIds[0], fromText[0]);
    }

    @Test
    void transformersDefaultsFillMissingKeys() throws IOException {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, "{}");
        ClipConfig c = ClipConfig.read(file);
        assertEquals(512, c.text().hiddenSize());
        assertEquals(49407, c.text().eosTokenId());
        assertEquals(768, c.vision().hiddenSize());
        assertEquals(7, c.vision().gridSize());
        assertEquals(ClipConfig.QUICK_GELU, c.vision().hiddenAct());
        assertEquals(512, c.projectionDim());
    }
}
