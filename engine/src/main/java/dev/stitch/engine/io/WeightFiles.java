package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which safetensors file of a diffusers component folder holds its weights, and in which variant: the rule of
 * diffusers 0.25.1 ({@code pipelines/pipeline_utils.py} {@code variant_compatible_siblings}, and
 * {@code ModelMixin.from_pretrained}'s {@code _add_variant}).
 *
 * <ul>
 *   <li>A variant {@code V} asked for: {@code diffusion_pytorch_model.V.safetensors} (or {@code model.V.safetensors},
 *       or the shard index {@code *.safetensors.index.V.json}) where the folder has it, else the default file, as
 *       diffusers loads the default weights of components that have no {@code V} files.</li>
 *   <li>No variant: the default file. Where a folder has no default file but exactly one variant, that variant is
 *       taken (diffusers 0.25.1 fails there and asks for {@code variant=}; a folder with a single choice needs no
 *       flag). Several variants and no default: the user must choose.</li>
 * </ul>
 * Shards ({@code model-00001-of-00002.safetensors}) are reached through their index, never chosen directly.
 */
public final class WeightFiles {
    private WeightFiles() {}

    /** {@code PREFIX[.VARIANT].safetensors}, {@code PREFIX.safetensors.index[.VARIANT].json}; prefixes as diffusers/transformers name them. */
    private static final Pattern SINGLE = Pattern.compile("(?:diffusion_pytorch_model|model)(?:\\.([A-Za-z0-9_-]+))?\\.safetensors");
    private static final Pattern INDEX = Pattern.compile("(?:diffusion_pytorch_model|model)\\.safetensors\\.index(?:\\.([A-Za-z0-9_-]+))?\\.json");
    private static final Pattern SHARD = Pattern.compile("\\d{5}-of-\\d{5}$");
    private static final String DEFAULT = "";

    /** The weight files of one folder by variant ({@code ""} for the default), from the file names in it. */
    public static Map<String, String> candidates(Collection<String> names) {
        Map<String, String> byVariant = new TreeMap<>();
        for (String n : names) {
            Matcher m = SINGLE.matcher(n);
            if (!m.matches()) m = INDEX.matcher(n);
            if (!m.matches() || m.group(1) != null && SHARD.matcher(m.group(1)).find()) continue;
            String v = m.group(1) == null ? DEFAULT : m.group(1);
            byVariant.merge(v, n, (a, b) -> a.endsWith(".json") ? b : a);   // a single file wins over an index of the same variant
        }
        return byVariant;
    }

    /**
     * The file name (of {@code names}, the files of {@code folder}) that holds the weights for {@code variant}
     * (null: none asked for); a {@link UserError} naming {@code folder} when there is none or the choice is open.
     */
    public static String choose(String folder, Collection<String> names, String variant) {
        Map<String, String> c = candidates(names);
        if (variant != null && c.containsKey(variant)) return c.get(variant);
        if (c.containsKey(DEFAULT)) return c.get(DEFAULT);
        if (c.isEmpty()) {
            boolean pickled = names.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".ckpt") || n.endsWith(".pt"));
            throw new UserError(folder + ": no safetensors weights (diffusion_pytorch_model.safetensors, model.safetensors or a variant of them)"
                + (pickled ? "; only pickled .bin weights are there, and Stitch reads safetensors" : ""));
        }
        if (variant == null && c.size() == 1) return c.values().iterator().next();
        throw new UserError(folder + ": no default weights" + (variant != null ? " and no " + variant + " variant" : "")
            + "; the variants here are " + String.join(", ", c.keySet()) + " (choose one with --variant)");
    }

    /** {@link #choose} on the files of a folder on disk: the path of the weights (a single file or a shard index). */
    public static Path find(Path folder, String variant) {
        List<String> names;
        try (Stream<Path> s = Files.list(folder)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UserError(folder + ": cannot list the folder (" + e.getMessage() + ")");
        }
        return folder.resolve(choose(folder.toString(), names, variant));
    }

    /** The variant a weight file name carries, or null for the default file. */
    public static String variantOf(String name) {
        Map<String, String> c = candidates(List.of(name));
        return c.isEmpty() || c.containsKey(DEFAULT) ? null : c.keySet().iterator().next();
    }
}
