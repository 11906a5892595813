package dev.stitch.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SD 1.x single-file checkpoints: the conformance v1 checkpoint (made by diffusers' own conversion script) against
 * its diffusers folder, bit for bit; round trips both ways; {@code --config-from} for a text encoder whose head count
 * no tensor records; and the whole inference path (names, yaml, conventions) on a random SD1-shaped model.
 */
class Sd1ConversionTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path TINY = CONFORMANCE.resolve("tiny-sd1");
    static final Path LDM = CONFORMANCE.resolve("tiny-sd1-ldm/tiny-sd1-ldm.safetensors");
    static final Path TOKENIZER = TINY.resolve("tokenizer");

    @BeforeAll
    static void needConformance() {
        assumeTrue(Files.isRegularFile(LDM) && Files.isDirectory(TINY), "conformance model not found at " + CONFORMANCE.toAbsolutePath());
    }

    @Test
    void withoutConfigsTheTextHeadCountIsRefusedWithTheWayOut(@TempDir Path dir) {
        UserError e = assertThrows(UserError.class, () -> LdmToDiffusers.plan(LDM, null, null));
        assertTrue(e.getMessage().contains("text width 32 is not a multiple of the head width 64"), e.getMessage());
        assertTrue(e.getMessage().contains("--config-from"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void v1CheckpointWithConfigFromBecomesTheDiffusersFolderBitForBit(@TempDir Path dir) throws IOException {
        var plan = LdmToDiffusers.plan(LDM, null, null, TINY);
        assertEquals(LdmNames.Family.SD1, plan.config().layout().family());
        assertTrue(plan.decisions().stream().anyMatch(d -> d.contains("ignored on purpose: 1 tensor(s), the text encoder's position-id buffer")),
            plan.decisions().toString());
        Path out = dir.resolve("out");
        LdmToDiffusers.write(plan, out, null, TOKENIZER, false, Progress.NONE);    // both store float16
        ConversionTest.assertSameModel(TINY, out);
    }

    @Test
    void configFromIsCheckedAgainstTheTensors(@TempDir Path dir) throws IOException {
        UserError e = assertThrows(UserError.class, () -> LdmToDiffusers.plan(LDM, null, null, CONFORMANCE.resolve("tiny-sd2")));
        assertTrue(e.getMessage().contains("model family (text encoder) is SD2 in the configs but SD 1.x"), e.getMessage());
        Path cfg = copyConfigs(TINY, dir.resolve("cfg"));
        edit(cfg.resolve("unet/config.json"), o -> o.put("cross_attention_dim", 48));
        e = assertThrows(UserError.class, () -> LdmToDiffusers.plan(LDM, null, null, cfg));
        assertTrue(e.getMessage().contains("cross-attention width is 48 in the configs but 32 in tiny-sd1-ldm.safetensors"), e.getMessage());
        e = assertThrows(UserError.class, () -> LdmToDiffusers.plan(LDM, null, dev.stitch.engine.schedulers.Prediction.V_PREDICTION, TINY));
        assertTrue(e.getMessage().contains("--prediction with --config-from"), e.getMessage());
    }

    /** ldm -> diffusers -> ldm gives the shipped checkpoint back: every weight bit for bit, the position ids as values. */
    @Test
    void ldmToDiffusersToLdmKeepsEveryWeight(@TempDir Path dir) {
        Path folder = dir.resolve("folder");
        LdmToDiffusers.write(LdmToDiffusers.plan(LDM, null, null, TINY), folder, null, TOKENIZER, false, Progress.NONE);
        Path back = dir.resolve("back.safetensors");
        var plan = DiffusersToLdm.plan(folder);
        assertEquals(1, plan.warnings().size(), "2 heads of 16 are not CLIP's: " + plan.warnings());
        DiffusersToLdm.write(plan, back, null, false, Progress.NONE);
        SafeTensors shipped = SafeTensors.open(LDM), ours = SafeTensors.open(back);
        assertEquals(new java.util.TreeSet<>(shipped.names()), new java.util.TreeSet<>(ours.names()));
        for (String n : shipped.names()) {
            if (n.equals(LdmNames.V1_POSITION_IDS)) {
                assertEquals(SafeDType.I64, ours.entry(n).dtype());      // diffusers' script wrote it as F16 (--half)
                long[] ids = ours.longs(n);
                float[] theirs = shipped.floats(n);
                for (int i = 0; i < ids.length; i++) assertEquals(theirs[i], ids[i], n);
                continue;
            }
            assertEquals(shipped.entry(n).dtype(), ours.entry(n).dtype(), n);
            long[] shape = shipped.entry(n).shape();
            if (n.matches("first_stage_model\\..*\\.attn_1\\.(q|k|v|proj_out)\\.bias")) {   // the script's [C, 1, 1]; LDM's is [C]
                assertArrayEquals(new long[] {shape[0], 1, 1}, shape, n);
                shape = new long[] {shape[0]};
            }
            assertArrayEquals(shape, ours.entry(n).shape(), n);
            assertEquals(-1L, shipped.bytes(n).mismatch(ours.bytes(n)), n + ": bytes differ");
        }
    }

    @Test
    void diffusersToLdmToDiffusersIsTheIdentity(@TempDir Path dir) throws IOException {
        Path ldm = dir.resolve("rt.safetensors");
        DiffusersToLdm.write(DiffusersToLdm.plan(TINY), ldm, DType.F16, false, Progress.NONE);
        String yaml = Files.readString(dir.resolve("rt.yaml"));
        assertTrue(yaml.contains("FrozenCLIPEmbedder") && yaml.contains("num_heads: 2") && yaml.contains("use_linear_in_transformer: False"), yaml);
        Path back = dir.resolve("back");
        LdmToDiffusers.write(LdmToDiffusers.plan(ldm, null, null, TINY), back, null, TOKENIZER, false, Progress.NONE);
        ConversionTest.assertSameModel(TINY, back);
    }

    /**
     * A random SD1-shaped model with CLIP's 64-wide text heads converts without --config-from: the family, the quick
     * GELU, PNDM, heads from the yaml, the pad token all come out as the folder has them; and {@code --model FILE}'s
     * in-memory path gives the same text encoder output.
     */
    @Test
    void aV1CheckpointWithClipHeadsNeedsNoConfigs(@TempDir Path dir) throws IOException {
        Path cfg = copyConfigs(TINY, dir.resolve("cfg"));
        edit(cfg.resolve("text_encoder/config.json"), o -> o.put("hidden_size", 64).put("num_attention_heads", 1).put("projection_dim", 64)
            .put("torch_dtype", "float32"));
        edit(cfg.resolve("unet/config.json"), o -> o.put("cross_attention_dim", 64));
        Path model = dir.resolve("model");
        RandomModel.writeFromConfigs(cfg, model, 7, DType.F32, TOKENIZER);
        Path ldm = dir.resolve("v1.safetensors");
        var back = DiffusersToLdm.plan(model);
        assertEquals(List.of(), back.warnings());
        DiffusersToLdm.write(back, ldm, null, false, Progress.NONE);

        var plan = LdmToDiffusers.plan(ldm, null, null);   // the yaml beside it gives heads and size
        assertTrue(plan.decisions().stream().anyMatch(d -> d.startsWith("text heads: 1 (width 64 / head width 64, CLIP ViT-L/14's")),
            plan.decisions().toString());
        Path out = dir.resolve("out");
        LdmToDiffusers.write(plan, out, DType.F32, TOKENIZER, false, Progress.NONE);
        for (String c : LdmToDiffusers.COMPONENTS) {    // the random folder has no position_ids buffer; the rest is equal
            SafeTensors e = SafeTensors.open(model.resolve(LdmToDiffusers.FILES.get(c))), o = SafeTensors.open(out.resolve(LdmToDiffusers.FILES.get(c)));
            for (String n : e.names()) assertEquals(-1L, e.bytes(n).mismatch(o.bytes(n)), c + "/" + n);
            assertEquals(e.names().size() + (c.equals("text_encoder") ? 1 : 0), o.names().size(), c);
        }
        for (String f : List.of("model_index.json", "unet/config.json", "vae/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json"))
            assertEquals(DiffusersConfigs.readJson(model.resolve(f)), DiffusersConfigs.readJson(out.resolve(f)), f);

        // an SD2 tokenizer (pad "!") is given SD 1.x's padding in the copy
        Path withSd2Tokenizer = dir.resolve("out2");
        LdmToDiffusers.write(plan, withSd2Tokenizer, DType.F32, CONFORMANCE.resolve("tiny-sd2/tokenizer"), false, Progress.NONE);
        assertEquals(49407, dev.stitch.engine.tokenizer.ClipTokenizer.load(withSd2Tokenizer.resolve("tokenizer")).padId());
        var sd2Tok = Checkpoints.loadAsDiffusers(ldm, null, null, CONFORMANCE.resolve("tiny-sd2/tokenizer"));
        assertTrue(sd2Tok.warnings().stream().anyMatch(w -> w.contains("pads with '!'")), sd2Tok.warnings().toString());

        var loaded = Checkpoints.loadAsDiffusers(ldm, null, null, TOKENIZER);
        StableDiffusionPipeline inMemory = Checkpoints.pipeline(ldm, loaded), folder = StableDiffusionPipeline.load(model);
        int[][] ids = {folder.tokenizer.encode("a photograph of an astronaut riding a horse")};
        Ctx c = new Ctx(ReferenceBackend.INSTANCE);
        Tensor a = folder.textEncoder.forward(c, ids), b = inMemory.textEncoder.forward(c, ids);
        assertArrayEquals(a.data(), b.data(), 0f);
        assertTrue(Math.abs(a.data()[5]) > 0);
    }

    static Path copyConfigs(Path from, Path to) throws IOException {
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "unet/config.json", "vae/config.json")) {
            Files.createDirectories(to.resolve(f).getParent());
            Files.copy(from.resolve(f), to.resolve(f));
        }
        return to;
    }

    static void edit(Path json, java.util.function.Consumer<ObjectNode> change) throws IOException {
        ObjectNode o = (ObjectNode) DiffusersConfigs.readJson(json);
        change.accept(o);
        Files.writeString(json, DiffusersConfigs.JSON.writeValueAsString(o));
    }
}
