package dev.stitch.convert;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Diffusers folder -> one original (LDM) checkpoint, {@code .safetensors} or {@code .ckpt}, plus the LDM yaml beside
 * it: {@link LdmNames}' table read backwards. Used to make test and benchmark inputs, and to check that the forward
 * conversion is the exact inverse. An SD2 text tower gets back the resblock SD2 does not use, all zeros: a pre-LN
 * residual block with zero weights is the identity, so the file means the same under either reading. An SD 1.x text
 * encoder gets back its position-id buffer, as original v1 checkpoints store it.
 */
public final class DiffusersToLdm {
    /** A checked reverse conversion: the configuration, the LDM tensors (not yet read) and what the file cannot record. */
    public record Plan(Path folder, ConfigInference.Inferred config, List<StoredTensor> tensors, List<String> warnings) {}

    private DiffusersToLdm() {}

    public static Plan plan(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a folder (--to-ldm reads a diffusers model folder)");
        ConfigInference.Inferred cfg = DiffusersConfigs.read(dir);
        DiffusersConfigs.ldmYaml(cfg);                     // fail now if the yaml cannot express the model
        Map<String, Map<String, StoredTensor>> comps = new LinkedHashMap<>();
        for (String c : LdmToDiffusers.COMPONENTS) comps.put(c, Checkpoint.open(dir.resolve(LdmToDiffusers.FILES.get(c))).tensors());

        List<LdmNames.Rule> rules = LdmNames.rules(cfg.layout());
        Set<String> used = new HashSet<>();
        List<String> missing = new ArrayList<>();
        List<StoredTensor> out = new ArrayList<>();
        for (var e : LdmNames.byLdm(rules).entrySet()) {
            List<LdmNames.Rule> group = new ArrayList<>(e.getValue());
            group.sort(Comparator.comparing(LdmNames.Rule::op));
            List<StoredTensor> parts = new ArrayList<>();
            for (LdmNames.Rule r : group) {
                StoredTensor t = comps.get(r.component()).get(r.diffusers());
                if (t == null) {
                    if (!r.optional()) missing.add(r.component() + "/" + r.diffusers());
                    continue;
                }
                used.add(r.component() + "/" + r.diffusers());
                parts.add(t);
            }
            if (parts.size() != group.size()) continue;
            LdmNames.Rule r = group.getFirst();
            out.add(switch (r.op()) {
                case COPY, VECTOR -> parts.getFirst().renamed(e.getKey());
                case CONV1X1_TO_LINEAR -> {
                    StoredTensor t = parts.getFirst();
                    if (t.rank() != 2) throw new UserError(dir + ": " + r.component() + "/" + r.diffusers() + " is not a [C, C] linear weight");
                    yield t.as(e.getKey(), t.dim(0), t.dim(1), 1, 1);
                }
                case Q_ROWS, K_ROWS, V_ROWS -> StoredTensor.concatRows(e.getKey(), parts);
                case POSITION_IDS -> throw new IllegalStateException();
            });
        }
        if (!missing.isEmpty())
            throw new UserError(dir + ": " + missing.size() + " tensor(s) missing: " + LdmToDiffusers.sample(missing));
        List<String> unknown = new ArrayList<>();
        for (var c : comps.entrySet())
            for (String n : c.getValue().keySet())
                if (!used.contains(c.getKey() + "/" + n) && !n.equals("text_model.embeddings.position_ids")) unknown.add(c.getKey() + "/" + n);
        if (!unknown.isEmpty())
            throw new UserError(dir + ": " + unknown.size() + " tensor(s) fit no " + cfg.layout().family() + " layout: " + LdmToDiffusers.sample(unknown));
        List<String> warnings = new ArrayList<>();
        if (cfg.layout().family() == LdmNames.Family.SD2) {
            out.addAll(paddingBlock(cfg, comps.get("text_encoder").get("text_model.final_layer_norm.weight").dtype()));
        } else {
            out.add(StoredTensor.arange(LdmNames.V1_POSITION_IDS, 1, cfg.textPositions()));
            if (cfg.textWidth() != ConfigInference.CLIP_HEAD_DIM * cfg.textHeads())
                warnings.add("the text encoder has " + cfg.textHeads() + " heads of " + cfg.textWidth() / cfg.textHeads()
                    + ", not CLIP's 64-wide ones; no checkpoint tensor or yaml key records that: convert it back with --config-from " + dir);
        }
        return new Plan(dir, cfg, out, List.copyOf(warnings));
    }

    /** The unused last open_clip resblock, all zeros (the identity). */
    private static List<StoredTensor> paddingBlock(ConfigInference.Inferred c, SafeDType dtype) {
        String p = LdmNames.TEXT + "transformer.resblocks." + (c.layout().textBlocks() - 1) + ".";
        long w = c.textWidth(), i = c.textIntermediate();
        return List.of(
            StoredTensor.zeros(p + "ln_1.weight", dtype, w), StoredTensor.zeros(p + "ln_1.bias", dtype, w),
            StoredTensor.zeros(p + "attn.in_proj_weight", dtype, 3 * w, w), StoredTensor.zeros(p + "attn.in_proj_bias", dtype, 3 * w),
            StoredTensor.zeros(p + "attn.out_proj.weight", dtype, w, w), StoredTensor.zeros(p + "attn.out_proj.bias", dtype, w),
            StoredTensor.zeros(p + "ln_2.weight", dtype, w), StoredTensor.zeros(p + "ln_2.bias", dtype, w),
            StoredTensor.zeros(p + "mlp.c_fc.weight", dtype, i, w), StoredTensor.zeros(p + "mlp.c_fc.bias", dtype, i),
            StoredTensor.zeros(p + "mlp.c_proj.weight", dtype, w, i), StoredTensor.zeros(p + "mlp.c_proj.bias", dtype, w));
    }

    /** The yaml written beside {@code file}: same stem, {@code .yaml}. */
    public static Path yamlFor(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".yaml");
    }

    /** Refuses to overwrite unless {@code force}. */
    public static void checkTarget(Path file, boolean force) {
        if (Files.isDirectory(file)) throw new UserError(file + ": is a folder; --to-ldm writes one checkpoint file");
        for (Path p : List.of(file, yamlFor(file)))
            if (Files.exists(p) && !force) throw new UserError(p + ": exists (pass --force to replace it)");
    }

    /** Writes {@code file} ({@code .ckpt}/{@code .pt}/{@code .pth}: PyTorch zip; otherwise safetensors) and its yaml. */
    public static long write(Plan plan, Path file, DType dtype, boolean force, Progress progress) {
        checkTarget(file, force);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean torch = name.endsWith(".ckpt") || name.endsWith(".pt") || name.endsWith(".pth");
        long total = 0;
        List<SafeTensorsStreamWriter.Item> items = new ArrayList<>();
        for (StoredTensor t : plan.tensors()) {
            var it = new SafeTensorsStreamWriter.Item(t, LdmToDiffusers.target(t, dtype));
            items.add(it);
            total += it.bytes();
        }
        long grand = total;
        if (torch) {
            TorchZipWriter w = new TorchZipWriter();
            for (var it : items) w.add(DTypeConversion.converted(it.source(), it.dtype()));
            progress.update(file.getFileName().toString(), 0, grand);
            w.write(file);
            progress.update(file.getFileName().toString(), grand, grand);
        } else {
            AtomicLong done = new AtomicLong();
            SafeTensorsStreamWriter.write(file, items, Map.of("format", "pt"), n -> progress.update(file.getFileName().toString(), done.addAndGet(n), grand));
        }
        writeAtomically(yamlFor(file), DiffusersConfigs.ldmYaml(plan.config()));
        return total;
    }

    private static void writeAtomically(Path file, String text) { AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8)); }
}
