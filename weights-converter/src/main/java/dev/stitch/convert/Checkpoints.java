package dev.stitch.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerConfig;
import dev.stitch.engine.text.ClipTextConfig;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.unet.UNetConfig;
import dev.stitch.engine.vae.AutoencoderKL;
import dev.stitch.engine.vae.VaeConfig;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An original checkpoint (SD 1.x or SD2) used in place, without writing a diffusers folder: the same plan as {@code stitch convert},
 * with tensors handed over as memory-mapped views in their file dtype (copied only where a {@code .ckpt} stores a
 * non-contiguous view or a dtype needs converting). This is what {@code generate --model FILE} builds on.
 */
public final class Checkpoints {
    /**
     * A converted model in memory. {@code weights} maps component ("unet", "vae", "text_encoder") to diffusers-named
     * float tensors ({@code text_model.embeddings.position_ids}, an I64 buffer equal to arange, is left out);
     * {@code configs} holds "model_index", "unet", "vae", "text_encoder" and "scheduler"; {@code tokenizer} is the
     * tokenizer folder beside the checkpoint (or the one given), or null.
     */
    public record Loaded(Map<String, Map<String, Tensor>> weights, Map<String, ObjectNode> configs, Path tokenizer,
                         List<String> decisions, List<String> warnings) {}

    private Checkpoints() {}

    /** True if {@code path} is a file with a checkpoint extension (a folder is a diffusers model). */
    public static boolean isCheckpointFile(Path path) {
        String n = path.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(path) && (n.endsWith(".safetensors") || n.endsWith(".ckpt") || n.endsWith(".pt") || n.endsWith(".pth"));
    }

    /**
     * Loads {@code file} as diffusers components. {@code prediction}, {@code yaml} and {@code tokenizer} may be null:
     * they are then found as {@code stitch convert} finds them.
     */
    public static Loaded loadAsDiffusers(Path file, Prediction prediction, Path yaml, Path tokenizer) {
        return loadAsDiffusers(file, prediction, yaml, tokenizer, null);
    }

    /**
     * The same with the architecture from {@code configFrom}'s config files (null: inferred); its {@code tokenizer/}
     * is used when {@code tokenizer} is null.
     */
    public static Loaded loadAsDiffusers(Path file, Prediction prediction, Path yaml, Path tokenizer, Path configFrom) {
        LdmToDiffusers.Plan plan = LdmToDiffusers.plan(file, yaml, prediction, configFrom);
        Path tok = tokenizer == null && configFrom != null && Files.isDirectory(configFrom.resolve("tokenizer"))
            ? LdmToDiffusers.findTokenizer(file, configFrom.resolve("tokenizer"))
            : LdmToDiffusers.findTokenizer(file, tokenizer);
        Map<String, Map<String, Tensor>> weights = new LinkedHashMap<>();
        SafeDType textDtype = SafeDType.F32;
        for (var c : plan.components().entrySet()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (StoredTensor t : c.getValue()) {
                if (!t.dtype().isFloat()) continue;
                StoredTensor f = t.dtype() == SafeDType.F64 ? DTypeConversion.converted(t, SafeDType.F32) : t;
                m.put(t.name(), Tensor.mapped(f.bytes(), f.dtype().computeType(), intShape(f)));
                if (c.getKey().equals("text_encoder") && t.name().endsWith("token_embedding.weight")) textDtype = f.dtype();
            }
            weights.put(c.getKey(), m);
        }
        List<String> warnings = new java.util.ArrayList<>(plan.warnings());
        String pad = tok == null ? null : LdmToDiffusers.padToken(tok);
        if (plan.config().layout().family() == LdmNames.Family.SD1 && pad != null && !pad.equals(LdmToDiffusers.SD1_PAD))
            warnings.add("the tokenizer " + tok + " pads with '" + pad + "', SD 1.x with " + LdmToDiffusers.SD1_PAD
                + ": prompts are encoded as this model never saw them (use an SD 1.x tokenizer/; stitch convert fixes the copy it writes)");
        return new Loaded(weights, plan.configs(textDtype), tok, plan.decisions(), List.copyOf(warnings));
    }

    /**
     * The pipeline of a checkpoint loaded by {@link #loadAsDiffusers}: the same models a converted folder gives, built
     * over the tensors in memory. A checkpoint holds no tokenizer, so a missing one is an error that says where to put it.
     */
    public static StableDiffusionPipeline pipeline(Path file, Loaded l) {
        if (l.tokenizer() == null)
            throw new UserError(file + ": a single-file checkpoint holds no tokenizer: pass --tokenizer DIR (a CLIP tokenizer folder "
                + "with vocab.json and merges.txt, such as the tokenizer/ of any SD 1.x or SD2 diffusers model) or put a tokenizer/ folder next to it");
        String origin = file.toString();
        return new StableDiffusionPipeline(file, ClipTokenizer.load(l.tokenizer()),
            new ClipTextModel(ClipTextConfig.parse(origin + " (text encoder config)", l.configs().get("text_encoder")),
                Weights.of(ClipTextModel.COMPONENT, origin, l.weights().get("text_encoder"))),
            new UNet2DConditionModel(UNetConfig.parse(origin + " (unet config)", l.configs().get("unet").toString()),
                Weights.of("unet", origin, l.weights().get("unet"))),
            new AutoencoderKL(VaeConfig.parse(origin + " (vae config)", l.configs().get("vae")),
                Weights.of(AutoencoderKL.COMPONENT, origin, l.weights().get("vae"))),
            SchedulerConfig.parse(l.configs().get("scheduler").toString()));
    }

    private static int[] intShape(StoredTensor t) {
        long[] s = t.shape();
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) r[i] = Math.toIntExact(s[i]);
        return r;
    }
}
