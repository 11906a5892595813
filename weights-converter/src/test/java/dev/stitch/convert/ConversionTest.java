package dev.stitch.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Converts the conformance model's original checkpoint and compares with its diffusers folder: every tensor bit for
 * bit, every config key. Also the refusals (other model families, damaged files), which must write nothing.
 */
class ConversionTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));
    static final Path TINY = CONFORMANCE.resolve("tiny-sd2");
    static final Path LDM = CONFORMANCE.resolve("tiny-sd2-ldm/tiny-sd2-ldm.safetensors");
    static final Path YAML = CONFORMANCE.resolve("tiny-sd2-ldm/tiny-sd2-ldm.yaml");
    static final Path TOKENIZER = TINY.resolve("tokenizer");

    @BeforeAll
    static void needConformance() {
        assumeTrue(Files.isRegularFile(LDM) && Files.isDirectory(TINY),
            "conformance model not found at " + CONFORMANCE.toAbsolutePath());
    }

    private static Path convert(Path from, Path to, DType dtype) {
        var plan = LdmToDiffusers.plan(from, null, null);
        LdmToDiffusers.write(plan, to, dtype, TOKENIZER, false, Progress.NONE);
        return to;
    }

    /** Same tensor names, dtypes, shapes and bytes in every component; same config values on every key; same tokenizer. */
    static void assertSameModel(Path expected, Path actual) throws IOException {
        for (String c : LdmToDiffusers.COMPONENTS) {
            String rel = LdmToDiffusers.FILES.get(c);
            SafeTensors e = SafeTensors.open(expected.resolve(rel)), a = SafeTensors.open(actual.resolve(rel));
            assertEquals(new java.util.TreeSet<>(e.names()), new java.util.TreeSet<>(a.names()), c + ": tensor names");
            for (String n : e.names()) {
                assertEquals(e.entry(n).dtype(), a.entry(n).dtype(), c + "/" + n);
                assertArrayEquals(e.entry(n).shape(), a.entry(n).shape(), c + "/" + n);
                assertEquals(-1L, e.bytes(n).mismatch(a.bytes(n)), c + "/" + n + ": bytes differ");
            }
        }
        for (String cfg : List.of("model_index.json", "unet/config.json", "vae/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json"))
            assertEquals(DiffusersConfigs.readJson(expected.resolve(cfg)), DiffusersConfigs.readJson(actual.resolve(cfg)), cfg);
        try (Stream<Path> s = Files.list(expected.resolve("tokenizer"))) {
            for (Path f : s.toList())
                assertEquals(-1L, Files.mismatch(f, actual.resolve("tokenizer").resolve(f.getFileName())), "tokenizer/" + f.getFileName());
        }
    }

    @Test
    void ldmSafetensorsBecomesTheDiffusersFolderBitForBit(@TempDir Path dir) throws IOException {
        assertSameModel(TINY, convert(LDM, dir.resolve("out"), DType.F32));
    }

    /** --config-from on SD2: the folder's configs, copied, give the same folder (tokenizer from --tokenizer). */
    @Test
    void configFromTheSameFolderGivesTheSameModel(@TempDir Path dir) throws IOException {
        Path lone = Files.copy(LDM, dir.resolve("lone.safetensors"));    // no yaml beside it: the configs say everything
        var plan = LdmToDiffusers.plan(lone, null, null, TINY);
        assertTrue(plan.decisions().getFirst().startsWith("model: SD2, architecture from " + TINY), plan.decisions().toString());
        LdmToDiffusers.write(plan, dir.resolve("out"), DType.F32, TOKENIZER, false, Progress.NONE);
        assertSameModel(TINY, dir.resolve("out"));
    }

    @Test
    void withoutDtypeTheCheckpointsHalfPrecisionIsKept(@TempDir Path dir) {
        Path out = convert(LDM, dir.resolve("out"), null);
        SafeTensors e = SafeTensors.open(TINY.resolve(LdmToDiffusers.FILES.get("unet")));
        SafeTensors a = SafeTensors.open(out.resolve(LdmToDiffusers.FILES.get("unet")));
        for (String n : e.names()) {
            assertEquals(SafeDType.F16, a.entry(n).dtype(), n);
            assertArrayEquals(e.floats(n), a.floats(n), n);   // f16 widens exactly to the folder's f32 values
        }
        assertEquals("float16", DiffusersConfigs.readJson(out.resolve("text_encoder/config.json")).get("torch_dtype").asText());
        assertEquals(SafeDType.I64, SafeTensors.open(out.resolve("text_encoder/model.safetensors")).entry("text_model.embeddings.position_ids").dtype());
    }

    /** The conformance checkpoint as a Lightning .ckpt, with one weight stored transposed and two biases sharing a storage. */
    @Test
    void ckptWithViewsConvertsLikeTheSafetensors(@TempDir Path dir) throws IOException {
        Checkpoint src = Checkpoint.open(LDM);
        TorchZipWriter w = new TorchZipWriter().lightningWrapper(true);
        String transposed = "model.diffusion_model.input_blocks.1.1.proj_in.weight";
        String qb = "first_stage_model.quant_conv.bias", pqb = "first_stage_model.post_quant_conv.bias";
        for (StoredTensor t : src.tensors().values()) {
            if (t.name().equals(transposed)) {
                int n = (int) t.dim(0), m = (int) t.dim(1);
                MemorySegment in = t.bytes(), tr = MemorySegment.ofArray(new byte[n * m * 2]);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < m; j++) MemorySegment.copy(in, (i * m + j) * 2L, tr, (j * n + i) * 2L, 2);
                w.view(t.name(), w.storage(SafeDType.F16, tr), 0, new long[] {n, m}, new long[] {1, n});
            } else if (t.name().equals(qb)) {
                MemorySegment both = MemorySegment.ofArray(new byte[12 * 2]);
                MemorySegment.copy(t.bytes(), 0, both, 0, 16);
                MemorySegment.copy(src.get(pqb).bytes(), 0, both, 16, 8);
                int s = w.storage(SafeDType.F16, both);
                w.view(qb, s, 0, new long[] {8}, new long[] {1});
                w.view(pqb, s, 8, new long[] {4}, new long[] {1});
            } else if (!t.name().equals(pqb)) w.add(t);
        }
        Path ckpt = dir.resolve("tiny-sd2-ldm.ckpt");
        w.write(ckpt);
        Files.copy(YAML, dir.resolve("tiny-sd2-ldm.yaml"));
        assertSameModel(TINY, convert(ckpt, dir.resolve("out"), DType.F32));
    }

    @Test
    void diffusersToLdmToDiffusersIsTheIdentity(@TempDir Path dir) throws IOException {
        Path ldm = dir.resolve("rt.safetensors");
        DiffusersToLdm.write(DiffusersToLdm.plan(TINY), ldm, DType.F16, false, Progress.NONE);
        assertTrue(Files.isRegularFile(dir.resolve("rt.yaml")));
        // the LDM file is the shipped one, tensor for tensor (the unused last resblock is zeros here)
        SafeTensors shipped = SafeTensors.open(LDM), ours = SafeTensors.open(ldm);
        String pad = LdmNames.TEXT + "transformer.resblocks.3.";
        for (String n : ours.names()) {
            if (n.startsWith(pad)) {
                for (float v : ours.floats(n)) assertEquals(0f, v, n);
                continue;
            }
            assertEquals(-1L, shipped.bytes(n).mismatch(ours.bytes(n)), n);
        }
        List<String> notWritten = shipped.names().stream().filter(n -> !ours.contains(n)).toList();
        assertEquals(List.of("alphas_cumprod", "alphas_cumprod_prev", "betas", LdmNames.TEXT + "logit_scale", LdmNames.TEXT + "text_projection"),
            notWritten.stream().sorted().toList());
        // and back, through the yaml it wrote, to the folder
        Path back = dir.resolve("back");
        var plan = LdmToDiffusers.plan(ldm, null, null);
        LdmToDiffusers.write(plan, back, DType.F32, TOKENIZER, false, Progress.NONE);
        assertSameModel(TINY, back);
    }

    @Test
    void vPredictionFromTheYamlOrTheFlag(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("v.yaml");
        Files.writeString(yaml, Files.readString(YAML).replace("    linear_start:", "    parameterization: \"v\"\n    linear_start:"));
        var plan = LdmToDiffusers.plan(LDM, yaml, null);
        assertEquals(Prediction.V_PREDICTION, plan.config().prediction());
        assertTrue(plan.decisions().stream().anyMatch(d -> d.startsWith("prediction: v (v.yaml parameterization: v)")), plan.decisions().toString());
        ObjectNode sched = DiffusersConfigs.build(plan.config(), SafeDType.F32).get("scheduler");
        assertEquals("v_prediction", sched.get("prediction_type").asText());
        var flagged = LdmToDiffusers.plan(LDM, yaml, Prediction.EPSILON);
        assertEquals(Prediction.EPSILON, flagged.config().prediction());
        assertTrue(flagged.decisions().stream().anyMatch(d -> d.contains("overriding v.yaml's v")), flagged.decisions().toString());
    }

    @Test
    void predictionRulesWithoutAYaml() {
        List<String> why = new ArrayList<>();
        assertEquals(Prediction.V_PREDICTION, ConfigInference.decidePrediction(null, false, null, null, Path.of("v2-1_768-ema-pruned.ckpt"), why));
        assertEquals(Prediction.EPSILON, ConfigInference.decidePrediction(null, false, null, null, Path.of("v2-1_512-ema-pruned.safetensors"), why));
        assertEquals(Prediction.EPSILON, ConfigInference.decidePrediction(null, false, null, null, Path.of("sd21-base.safetensors"), why));
        assertEquals(Prediction.V_PREDICTION, ConfigInference.decidePrediction(Prediction.V_PREDICTION, false, null, null, Path.of("sd21-base.safetensors"), why));
        assertEquals(4, why.size());
        assertNull(ConfigInference.decidePrediction(null, false, null, null, Path.of("finetune.ckpt"), why), "undecided: the probe runs the UNet");
        assertEquals(Prediction.EPSILON, ConfigInference.decidePrediction(null, true, null, "x.yaml", Path.of("768.ckpt"), why), "a yaml without parameterization means eps");
    }

    /**
     * The probe's rule on the conformance UNet with its last conv replaced by a constant: output -2 is far below the
     * input (v-like), output 0.4 stays near it (ε-like). Also checks that the planned tensors build and run a UNet.
     */
    @Test
    void theProbeRunsTheUNetAndReadsItsOutput() {
        var plan = LdmToDiffusers.plan(LDM, null, null);
        for (float bias : new float[] {-2f, 0.4f}) {
            List<StoredTensor> unet = new ArrayList<>();
            for (StoredTensor t : plan.components().get("unet")) {
                if (t.name().equals("conv_out.weight")) unet.add(StoredTensor.of(t.name(), SafeDType.F32, t.shape(), MemorySegment.ofArray(new float[(int) t.numel()])));
                else if (t.name().equals("conv_out.bias")) {
                    float[] b = new float[(int) t.numel()];
                    java.util.Arrays.fill(b, bias);
                    unet.add(StoredTensor.of(t.name(), SafeDType.F32, t.shape(), MemorySegment.ofArray(b)));
                } else unet.add(t);
            }
            var r = PredictionProbe.run(plan.config(), unet, dev.stitch.kernels.Backends.byName("reference"));
            assertEquals(bias - 0.5, r.meanDifference(), 1e-6);
            assertEquals(bias < -0.5 ? Prediction.V_PREDICTION : Prediction.EPSILON, r.prediction());
        }
        // the real (random-weight) UNet runs too and gives a finite answer
        var real = PredictionProbe.run(plan.config(), plan.components().get("unet"), dev.stitch.kernels.Backends.byName("reference"));
        assertTrue(Double.isFinite(real.meanDifference()));
    }

    @Test
    void withoutAYamlHeadsFollowSd2sHeadWidth(@TempDir Path dir) throws IOException {
        // The tiny model's 32 channels do not split into 64-wide heads: without its yaml the head count is unknowable.
        Path lone = dir.resolve("tiny-512.safetensors");
        Files.copy(LDM, lone);
        UserError e = assertThrows(UserError.class, () -> LdmToDiffusers.plan(lone, null, null));
        assertTrue(e.getMessage().contains("heads of 64"), e.getMessage());
        var plan = LdmToDiffusers.plan(lone, YAML, null);     // --config names it
        assertArrayEquals(new int[] {2, 2, 4, 4}, plan.config().heads());
    }

    @Test
    void loadAsDiffusersGivesTheFolderTensorsInMemory() {
        Checkpoints.Loaded l = Checkpoints.loadAsDiffusers(LDM, null, null, TOKENIZER);
        assertEquals(TOKENIZER, l.tokenizer());
        for (String c : LdmToDiffusers.COMPONENTS) {
            SafeTensors e = SafeTensors.open(TINY.resolve(LdmToDiffusers.FILES.get(c)));
            Map<String, Tensor> got = l.weights().get(c);
            for (String n : e.names()) {
                if (n.equals("text_model.embeddings.position_ids")) {
                    assertFalse(got.containsKey(n));
                    continue;
                }
                Tensor t = got.get(n);
                assertNotNull(t, c + "/" + n);
                assertArrayEquals(e.entry(n).intShape(), t.shape(), n);
                assertEquals(DType.F16, t.dtype(), n);
                assertArrayEquals(e.floats(n), t.data(), n);
            }
            assertEquals(e.names().size() - (c.equals("text_encoder") ? 1 : 0), got.size(), c);
            assertEquals(DiffusersConfigs.readJson(TINY.resolve(c + "/config.json")).get("_class_name"), l.configs().get(c).get("_class_name"));
        }
        JsonNode unet = DiffusersConfigs.readJson(TINY.resolve("unet/config.json"));
        assertEquals(unet, l.configs().get("unet"));
    }

    // ---- refusals: one clear line, nothing written ----

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertRefused(Path dir, Path input, String... fragments) throws IOException {
        Path out = dir.resolve("out");
        List<String> before = listing(dir);
        UserError e = assertThrows(UserError.class, () -> {
            var plan = LdmToDiffusers.plan(input, null, Prediction.EPSILON);
            LdmToDiffusers.write(plan, out, DType.F32, TOKENIZER, false, Progress.NONE);
        });
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
        assertEquals(before, listing(dir), "no temporary files left");
    }

    private static void synthetic(Path file, String... names) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (String n : names) w.addF32(n, new float[] {0.5f, -1.25f, 2f, 0.75f}, 2, 2);
        w.write(file);
    }

    @Test
    void anSd1TextEncoderWithoutLayersIsRefusedByName(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("sd15.safetensors");
        synthetic(f, "model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_in.weight",
            "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight");
        assertRefused(dir, f, "SD 1.x", "cond_stage_model.transformer.", "text_model.encoder.layers");
    }

    @Test
    void sdxlLikeKeysAreRefusedByName(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("sdxl.safetensors");
        synthetic(f, "model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_in.weight",
            "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
            "conditioner.embedders.1.model.token_embedding");
        assertRefused(dir, f, "SDXL", "conditioner.embedders");
    }

    @Test
    void aDiffusersComponentFileIsNotACheckpoint(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("unet.safetensors");
        Files.copy(TINY.resolve("unet/diffusion_pytorch_model.safetensors"), f);
        assertRefused(dir, f, "diffusers component file");
    }

    @Test
    void aTruncatedCheckpointIsRefused(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("cut.safetensors");
        byte[] all = Files.readAllBytes(LDM);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 4096));
        assertRefused(dir, f, "truncated");
    }

    @Test
    void aZipThatIsNotACheckpointIsRefused(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("model.ckpt");
        try (var z = new java.util.zip.ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new java.util.zip.ZipEntry("readme.txt"));
            z.write("not weights".getBytes());
        }
        assertRefused(dir, f, "without data.pkl");
    }

    /** A copy of the conformance checkpoint without some tensors and with some extra ones. */
    private static Path edited(Path dir, String name, Predicate<String> keep, String... extra) {
        Checkpoint ck = Checkpoint.open(LDM);
        List<SafeTensorsStreamWriter.Item> items = new ArrayList<>();
        for (StoredTensor t : ck.tensors().values()) if (keep.test(t.name())) items.add(new SafeTensorsStreamWriter.Item(t, t.dtype()));
        for (String n : extra)
            items.add(new SafeTensorsStreamWriter.Item(StoredTensor.of(n, SafeDType.F32, new long[] {2}, MemorySegment.ofArray(new float[] {1, 2})), SafeDType.F32));
        Path f = dir.resolve(name);
        SafeTensorsStreamWriter.write(f, items, Map.of(), n -> {});
        try {
            Files.copy(YAML, dir.resolve(name.replace(".safetensors", ".yaml")));     // its config beside it
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return f;
    }

    @Test
    void missingTensorsAreListed(@TempDir Path dir) throws IOException {
        Path f = edited(dir, "partial.safetensors", n -> !n.equals("first_stage_model.decoder.mid.attn_1.q.weight")
            && !n.equals("model.diffusion_model.output_blocks.4.0.emb_layers.1.bias"));
        assertRefused(dir, f, "2 tensor(s) of an SD2 model are missing", "first_stage_model.decoder.mid.attn_1.q.weight",
            "model.diffusion_model.output_blocks.4.0.emb_layers.1.bias");
    }

    @Test
    void unknownModelTensorsAreAnErrorOtherExtrasAWarning(@TempDir Path dir) throws IOException {
        Path f = edited(dir, "extra.safetensors", n -> true, "model.diffusion_model.label_emb.0.0.weight");
        assertRefused(dir, f, "fit no SD2 layout", "model.diffusion_model.label_emb.0.0.weight");
        Path g = edited(dir, "stray.safetensors", n -> true, "some_training_counter");
        var plan = LdmToDiffusers.plan(g, YAML, null);
        assertTrue(plan.warnings().stream().anyMatch(w -> w.contains("some_training_counter")), plan.warnings().toString());
    }

    @Test
    void aTokenizerIsRequired(@TempDir Path dir) {
        var plan = LdmToDiffusers.plan(LDM, null, null);
        UserError e = assertThrows(UserError.class, () -> LdmToDiffusers.write(plan, dir.resolve("out"), null, null, false, Progress.NONE));
        assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out")));
        assertNull(LdmToDiffusers.findTokenizer(LDM, null), "the conformance checkpoint has no tokenizer/ beside it");
        UserError notTok = assertThrows(UserError.class, () -> LdmToDiffusers.findTokenizer(LDM, TINY.resolve("unet")));
        assertTrue(notTok.getMessage().contains("vocab.json"), notTok.getMessage());
    }

    @Test
    void anExistingFolderIsReplacedOnlyWithForce(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        var plan = LdmToDiffusers.plan(LDM, null, null);
        UserError e = assertThrows(UserError.class, () -> LdmToDiffusers.write(plan, out, DType.F32, TOKENIZER, false, Progress.NONE));
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertEquals("mine", Files.readString(out.resolve("keep.txt")));
        LdmToDiffusers.write(plan, out, DType.F32, TOKENIZER, true, Progress.NONE);
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertSameModel(TINY, out);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("out"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void aFailureMidWriteLeavesNoHalfFolder(@TempDir Path dir) throws IOException {
        var plan = LdmToDiffusers.plan(LDM, null, null);
        Map<String, List<StoredTensor>> broken = new HashMap<>(plan.components());
        List<StoredTensor> vae = new ArrayList<>(broken.get("vae"));
        vae.add(new StoredTensor("boom", SafeDType.F32, new long[] {4}, () -> { throw new IllegalStateException("disk on fire"); }));
        broken.put("vae", vae);
        var bad = new LdmToDiffusers.Plan(plan.checkpoint(), plan.config(), null, broken, plan.decisions(), plan.warnings());
        Path out = dir.resolve("out");
        assertThrows(IllegalStateException.class, () -> LdmToDiffusers.write(bad, out, DType.F32, TOKENIZER, false, Progress.NONE));
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "temporary folder removed");
        }
    }

    @Test
    void narrowingToHalfRoundsAndCountsOverflow() {
        MemorySegment src = MemorySegment.ofArray(new float[] {1f / 3, 70000f, -1e-9f, Float.NaN});
        MemorySegment dst = MemorySegment.ofArray(new byte[8]);
        long over = DTypeConversion.convert(src, SafeDType.F32, 0, dst, SafeDType.F16, 0, 4);
        assertEquals(1, over, "70000 is beyond f16");
        var le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(Float.floatToFloat16(1f / 3), dst.getAtIndex(le, 0));
        assertTrue(Float.isNaN(Float.float16ToFloat(dst.getAtIndex(le, 3))));
    }
}
