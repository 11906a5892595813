package dev.stitch.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The files of a Hub repository that a diffusers pipeline loads, as {@code DiffusionPipeline.download} of diffusers
 * 0.25.1 picks them with safetensors weights: {@code model_index.json}; for each component folder that holds
 * weights, its {@code config.json} and the weights of the chosen variant ({@link WeightFiles}); every other component
 * folder whole (scheduler, tokenizer, feature extractor). Pickled ({@code .bin}, {@code .msgpack}) and ONNX files
 * are never taken, nor single-file checkpoints at the top of the repository.
 */
public final class DiffusersFiles {
    private DiffusersFiles() {}

    private static final Pattern SKIPPED = Pattern.compile(".*\\.(bin|msgpack|onnx|pb)|.*\\.(bin|msgpack|onnx|pb)\\.index.*\\.json");
    private static final Pattern PICKLED_WEIGHTS = Pattern.compile("(diffusion_pytorch_model|pytorch_model|model|diffusion_flax_model|flax_model)"
        + "(\\.[A-Za-z0-9_-]+)?(-\\d{5}-of-\\d{5})?\\.(bin|msgpack)");

    /**
     * The repository paths to download from {@code files} (every path in the repository) for the pipeline that
     * {@code modelIndex} describes, in {@code variant} (null: the default weights).
     */
    public static List<String> select(String repo, Collection<String> files, JsonNode modelIndex, String variant) {
        TreeSet<String> out = new TreeSet<>(List.of("model_index.json"));
        for (String top : List.of("scheduler_config.json", "config.json")) if (files.contains(top)) out.add(top);
        boolean variantSeen = false;
        for (Map.Entry<String, JsonNode> e : modelIndex.properties()) {
            if (e.getKey().startsWith("_") || !e.getValue().isArray()) continue;
            String folder = e.getKey();
            List<String> inside = new ArrayList<>(), names = new ArrayList<>();
            for (String f : files)
                if (f.startsWith(folder + "/")) {
                    inside.add(f);
                    if (f.indexOf('/', folder.length() + 1) < 0) names.add(f.substring(folder.length() + 1));
                }
            boolean weights = !WeightFiles.candidates(names).isEmpty() || names.stream().anyMatch(n -> PICKLED_WEIGHTS.matcher(n).matches());
            if (!weights) {
                for (String f : inside) if (!SKIPPED.matcher(f).matches()) out.add(f);
                continue;
            }
            String chosen = WeightFiles.choose(repo + ": " + folder, names, variant);
            variantSeen |= variant != null && variant.equals(WeightFiles.variantOf(chosen));
            if (names.contains("config.json")) out.add(folder + "/config.json");
            out.add(folder + "/" + chosen);
            if (chosen.endsWith(".json")) {
                // the shards a safetensors index lists: PREFIX[.VARIANT]-00001-of-0000N.safetensors
                String prefix = chosen.substring(0, chosen.indexOf(".safetensors"));
                String v = WeightFiles.variantOf(chosen);
                Pattern shard = Pattern.compile(Pattern.quote(prefix + (v == null ? "" : "." + v)) + "-\\d{5}-of-\\d{5}\\.safetensors");
                for (String n : names) if (shard.matcher(n).matches()) out.add(folder + "/" + n);
            }
        }
        if (variant != null && !variantSeen)
            throw new UserError(repo + ": no component has " + variant + " weights (variant '" + variant + "' asked for; leave --variant out for the default files)");
        return List.copyOf(out);
    }
}
