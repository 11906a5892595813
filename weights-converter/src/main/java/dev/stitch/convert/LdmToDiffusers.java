package dev.stitch.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Original SD 1.x or SD2 checkpoint -> diffusers folder. {@link #plan} reads names and shapes only, infers the
 * configuration (or takes it from a diffusers folder's configs, {@code --config-from}), and accounts for every tensor
 * (mapped, ignored on purpose, or an error); {@link #write} then streams the tensors, one at a time, into a folder
 * that appears atomically.
 */
public final class LdmToDiffusers {
    /** The diffusers file of each component. */
    static final Map<String, String> FILES = Map.of(
        "unet", "unet/diffusion_pytorch_model.safetensors",
        "vae", "vae/diffusion_pytorch_model.safetensors",
        "text_encoder", "text_encoder/model.safetensors");
    static final List<String> COMPONENTS = List.of("unet", "vae", "text_encoder");

    /**
     * A checked conversion: the configuration and, per component, its diffusers tensors (not yet read);
     * {@code configFrom} is the folder whose config files are copied ({@code --config-from}), or null.
     */
    public record Plan(Checkpoint checkpoint, ConfigInference.Inferred config, Path configFrom,
                       Map<String, List<StoredTensor>> components, List<String> decisions, List<String> warnings) {
        /** The diffusers config files to write: {@code configFrom}'s as they are, else built from the inferred configuration. */
        public Map<String, ObjectNode> configs(SafeDType textDtype) {
            return configFrom != null ? DiffusersConfigs.copy(configFrom) : DiffusersConfigs.build(config, textDtype);
        }
    }

    /** What {@link #write} did. */
    public record Written(long bytes, long overflowed, SafeDType textDtype) {}

    private LdmToDiffusers() {}

    /** Refuses a target that exists as a file, or as a non-empty folder without {@code force}; creates nothing. */
    public static void checkTarget(Path to, boolean force) { AtomicFolder.checkTarget(to, force); }

    /** The yaml to read: {@code explicit} if given, else {@code <stem>.yaml} beside the checkpoint, else none. */
    public static Path findYaml(Path checkpoint, Path explicit) {
        if (explicit != null) {
            if (!Files.isRegularFile(explicit)) throw new UserError(explicit + ": no such file (--config)");
            return explicit;
        }
        String name = checkpoint.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        for (String ext : List.of(".yaml", ".yml")) {
            Path p = checkpoint.resolveSibling(stem + ext);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** The tokenizer folder: {@code explicit}, else {@code tokenizer/} beside the checkpoint; null if neither. */
    public static Path findTokenizer(Path checkpoint, Path explicit) {
        Path dir = explicit != null ? explicit : checkpoint.toAbsolutePath().resolveSibling("tokenizer");
        if (explicit == null && !Files.isDirectory(dir)) return null;
        for (String f : List.of("vocab.json", "merges.txt"))
            if (!Files.isRegularFile(dir.resolve(f)))
                throw new UserError(dir + ": not a CLIP tokenizer folder (no " + f + ")");
        return dir;
    }

    /** Opens, checks and plans the conversion of {@code file}; reads no tensor data. */
    public static Plan plan(Path file, Path yamlFile, Prediction prediction) {
        return plan(Checkpoint.open(file), yamlFile, prediction, null);
    }

    /**
     * The same with the architecture taken from {@code configFrom}, a diffusers folder whose config files are checked
     * against the tensors and copied (as diffusers' {@code from_single_file(config=)}); the yaml and the prediction
     * flag then have nothing left to decide and are refused.
     */
    public static Plan plan(Path file, Path yamlFile, Prediction prediction, Path configFrom) {
        return plan(Checkpoint.open(file), yamlFile, prediction, configFrom);
    }

    /** Plans the conversion of an opened checkpoint. */
    static Plan plan(Checkpoint ck, Path yamlFile, Prediction prediction) { return plan(ck, yamlFile, prediction, null); }

    static Plan plan(Checkpoint ck, Path yamlFile, Prediction prediction, Path configFrom) {
        Path file = ck.file();
        LdmNames.Family family = ConfigInference.family(ck);
        ConfigInference.Inferred cfg;
        List<String> decisions = new ArrayList<>(), warnings = new ArrayList<>();
        if (configFrom != null) {
            if (yamlFile != null) throw new UserError("--config and --config-from both give the architecture: pass one");
            if (prediction != null) throw new UserError("--prediction with --config-from: the scheduler config of " + configFrom + " gives it");
            if (!Files.isDirectory(configFrom)) throw new UserError(configFrom + ": not a folder (--config-from names a diffusers model folder)");
            cfg = ConfigInference.fromConfigs(ck, configFrom);
            decisions.add("config: " + configFrom + " (--config-from: its config files are copied)");
        } else {
            Path yamlPath = findYaml(file, yamlFile);
            Map<String, Object> yaml = yamlPath == null ? null : SimpleYaml.read(yamlPath);
            cfg = ConfigInference.infer(ck, yaml, yamlPath, prediction);
            warnings.addAll(cfg.warnings());
            if (yamlPath == null) decisions.add("config: no yaml beside the checkpoint; architecture read from the tensors");
            else decisions.add("config: " + yamlPath);
        }

        List<LdmNames.Rule> rules = LdmNames.rules(cfg.layout());
        Map<String, List<LdmNames.Rule>> byLdm = LdmNames.byLdm(rules);
        List<LdmNames.Ignored> ignored = LdmNames.ignored(cfg.layout());
        Map<String, Integer> ignoredCount = new LinkedHashMap<>();
        List<String> unknownModel = new ArrayList<>(), unknownOther = new ArrayList<>();
        for (String key : ck.tensors().keySet()) {
            if (byLdm.containsKey(key)) continue;
            LdmNames.Ignored why = ignored.stream().filter(i -> i.matches(key)).findFirst().orElse(null);
            if (why != null) ignoredCount.merge(why.why(), 1, Integer::sum);
            else if (key.startsWith(LdmNames.UNET) || key.startsWith(LdmNames.VAE) || key.startsWith("cond_stage_model.")) unknownModel.add(key);
            else unknownOther.add(key);
        }
        List<String> missing = rules.stream().filter(r -> r.ldm() != null && !r.optional() && !ck.contains(r.ldm()))
            .map(LdmNames.Rule::ldm).distinct().toList();
        if (!missing.isEmpty())
            throw new UserError(file + ": " + missing.size() + " tensor(s) of an " + family + " model are missing: " + sample(missing)
                + " (truncated or not " + family + "?)");
        if (!unknownModel.isEmpty())
            throw new UserError(file + ": " + unknownModel.size() + " model tensor(s) fit no " + family + " layout: " + sample(unknownModel)
                + " (a different architecture?)");
        if (!unknownOther.isEmpty())
            warnings.add("left out " + unknownOther.size() + " tensor(s) that belong to no " + family + " component: " + sample(unknownOther));
        ignoredCount.forEach((why, n) -> decisions.add("ignored on purpose: " + n + " tensor(s), " + why));

        Map<String, List<StoredTensor>> components = new LinkedHashMap<>();
        for (String c : COMPONENTS) components.put(c, new ArrayList<>());
        for (LdmNames.Rule r : rules) {
            if (r.ldm() != null && !ck.contains(r.ldm())) continue;            // an optional tensor this model lacks
            components.get(r.component()).add(make(file, r, r.ldm() == null ? null : ck.get(r.ldm()), cfg));
        }
        if (cfg.prediction() == null) cfg = probe(file, cfg, components.get("unet"));
        decisions.addAll(0, cfg.decisions());
        return new Plan(ck, cfg, configFrom, components, List.copyOf(decisions), List.copyOf(warnings));
    }

    /** Neither flag, yaml nor file name tells ε from v: run the UNet once (see {@link PredictionProbe}). */
    private static ConfigInference.Inferred probe(Path file, ConfigInference.Inferred cfg, List<StoredTensor> unet) {
        long t0 = System.nanoTime();
        PredictionProbe.Result r;
        try {
            r = PredictionProbe.run(cfg.withPrediction(Prediction.EPSILON, null), unet, Backends.byName("auto"));
        } catch (OutOfMemoryError e) {
            throw new UserError(file + ": not enough memory to run the UNet once to tell epsilon from v prediction; "
                + "pass --prediction epsilon (SD2-base, 512 px) or --prediction v (SD2-768-v), or give the model's yaml with --config");
        }
        return cfg.withPrediction(r.prediction(), String.format(java.util.Locale.ROOT,
            "prediction: %s (no yaml and the name says neither 512 nor 768, so the UNet ran once: mean(out - x) = %.3f at t=999, v below %.0f; %.1f s; pass --prediction to override)",
            r.prediction(), r.meanDifference(), PredictionProbe.THRESHOLD, (System.nanoTime() - t0) / 1e9));
    }

    /** One diffusers tensor from its LDM source, checking the shape the operation needs. */
    static StoredTensor make(Path file, LdmNames.Rule r, StoredTensor src, ConfigInference.Inferred cfg) {
        return switch (r.op()) {
            case COPY -> src.renamed(r.diffusers());
            case CONV1X1_TO_LINEAR -> {
                long[] s = src.shape();
                if (s.length != 4 || s[2] != 1 || s[3] != 1)
                    throw new UserError(file + ": '" + r.ldm() + "' is " + Arrays.toString(s) + ", expected a 1x1 convolution [C, C, 1, 1]");
                yield src.as(r.diffusers(), s[0], s[1]);
            }
            case VECTOR -> {
                long[] s = src.shape();
                if (s.length != 1 && !(s.length == 3 && s[1] == 1 && s[2] == 1))
                    throw new UserError(file + ": '" + r.ldm() + "' is " + Arrays.toString(s) + ", expected a bias [C] (or [C, 1, 1])");
                yield s.length == 1 ? src.renamed(r.diffusers()) : src.as(r.diffusers(), s[0]);
            }
            case Q_ROWS, K_ROWS, V_ROWS -> {
                if (src.rank() < 1 || src.dim(0) % 3 != 0)
                    throw new UserError(file + ": '" + r.ldm() + "' is " + Arrays.toString(src.shape()) + ", expected 3 x width rows (q|k|v)");
                long third = src.dim(0) / 3, k = r.op().ordinal() - LdmNames.Op.Q_ROWS.ordinal();
                yield src.rows(r.diffusers(), k * third, (k + 1) * third);
            }
            case POSITION_IDS -> StoredTensor.arange(r.diffusers(), 1, cfg.textPositions());
        };
    }

    /** The dtype a tensor is stored in: {@code requested} for floats (null keeps the file's, F64 becomes F32). */
    static SafeDType target(StoredTensor t, DType requested) {
        if (!t.dtype().isFloat()) return t.dtype();
        if (requested != null) return SafeDType.of(requested);
        return t.dtype() == SafeDType.F64 ? SafeDType.F32 : t.dtype();
    }

    /**
     * Writes the planned model to {@code to} (a folder that must be absent or empty unless {@code force}). The folder
     * appears only when complete. {@code tokenizer} is copied into {@code tokenizer/} (required).
     */
    public static Written write(Plan plan, Path to, DType dtype, Path tokenizer, boolean force, Progress progress) {
        if (tokenizer == null)
            throw new UserError("no tokenizer: pass --tokenizer DIR (a CLIP tokenizer folder with vocab.json and merges.txt, such as the tokenizer/ "
                + "of any SD 1.x or SD2 diffusers model) or put a tokenizer/ folder next to " + plan.checkpoint().file().getFileName());
        Map<String, List<SafeTensorsStreamWriter.Item>> items = new LinkedHashMap<>();
        long total = 0;
        for (var e : plan.components().entrySet()) {
            List<SafeTensorsStreamWriter.Item> list = new ArrayList<>();
            for (StoredTensor t : e.getValue()) {
                var it = new SafeTensorsStreamWriter.Item(t, target(t, dtype));
                list.add(it);
                total += it.bytes();
            }
            items.put(e.getKey(), list);
        }
        SafeDType textDtype = target(plan.components().get("text_encoder").getFirst(), dtype);
        Map<String, ObjectNode> configs = plan.configs(textDtype);
        AtomicLong done = new AtomicLong();
        long overflow = 0, grand = total;
        try (AtomicFolder out = AtomicFolder.create(to, force)) {
            Path dir = out.dir();
            for (String c : COMPONENTS) {
                String rel = LdmToDiffusers.FILES.get(c);
                overflow += SafeTensorsStreamWriter.write(dir.resolve(rel), items.get(c), Map.of("format", "pt"),
                    n -> progress.update(rel, done.addAndGet(n), grand));
                writeJson(dir.resolve(c + "/config.json"), configs.get(c));
            }
            writeJson(dir.resolve("scheduler/scheduler_config.json"), configs.get("scheduler"));
            copyTokenizer(tokenizer, dir.resolve("tokenizer"), plan.configFrom() == null ? plan.config().layout().family() : null);
            writeJson(dir.resolve("model_index.json"), configs.get("model_index"));
            out.commit();
        }
        return new Written(total, overflow, textDtype);
    }

    static void writeJson(Path file, ObjectNode node) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, DiffusersConfigs.JSON.writeValueAsString(node) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies the tokenizer folder. For an SD 1.x model ({@code family} SD1) whose tokenizer files name another pad
     * token (an SD2 tokenizer pads with "!"), the copy pads with SD 1.x's {@code <|endoftext|>}: the vocabulary is the
     * same, the padding is what the model was trained with.
     */
    private static void copyTokenizer(Path from, Path to, LdmNames.Family family) {
        try (Stream<Path> s = Files.list(from)) {
            Files.createDirectories(to);
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Path target = to.resolve(p.getFileName());
                String name = p.getFileName().toString();
                ObjectNode o = family == LdmNames.Family.SD1 && (name.equals("special_tokens_map.json") || name.equals("tokenizer_config.json"))
                    ? (ObjectNode) DiffusersConfigs.readJson(p) : null;
                JsonNode pad = o == null ? null : o.get("pad_token");
                if (pad != null && !SD1_PAD.equals(pad.isTextual() ? pad.asText() : pad.path("content").asText())) {
                    o.put("pad_token", SD1_PAD);
                    writeJson(target, o);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UserError(from + ": cannot copy the tokenizer (" + e.getMessage() + ")");
        }
    }

    /** The pad token a tokenizer folder names (special_tokens_map.json, else tokenizer_config.json), or null if neither does. */
    static String padToken(Path tokenizer) {
        for (String f : List.of("special_tokens_map.json", "tokenizer_config.json")) {
            Path p = tokenizer.resolve(f);
            if (!Files.isRegularFile(p)) continue;
            JsonNode pad = DiffusersConfigs.readJson(p).get("pad_token");
            if (pad != null && !pad.isNull()) return pad.isTextual() ? pad.asText() : pad.path("content").asText();
        }
        return null;
    }

    /** SD 1.x's pad token (transformers' CLIPTokenizer default; SD2 pads with "!"). */
    static final String SD1_PAD = "<|endoftext|>";

    static String sample(List<String> names) {
        int show = Math.min(6, names.size());
        String s = String.join(", ", names.subList(0, show));
        return names.size() > show ? s + " and " + (names.size() - show) + " more" : s;
    }
}
