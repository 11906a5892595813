package dev.stitch.engine.vae;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code vae/config.json} of diffusers' AutoencoderKL. Absent keys take diffusers' defaults (its
 * {@code AutoencoderKL.__init__}); values this engine cannot run are refused with the key's name.
 *
 * @param scalingFactor what the pipeline multiplies encoder samples by and divides latents by before decoding
 * @param forceUpcast    the model overflows in f16: a half-precision backend must run this VAE in f32
 */
public record VaeConfig(int inChannels, int outChannels, List<String> downBlockTypes, List<String> upBlockTypes,
                        int[] blockOutChannels, int layersPerBlock, String actFn, int latentChannels, int normNumGroups,
                        int sampleSize, float scalingFactor, boolean useQuantConv, boolean usePostQuantConv,
                        boolean midBlockAddAttention, boolean forceUpcast) {

    public static final String DOWN_BLOCK = "DownEncoderBlock2D", UP_BLOCK = "UpDecoderBlock2D";

    public VaeConfig {
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        blockOutChannels = blockOutChannels.clone();
        check(inChannels > 0, "in_channels", "must be positive, got " + inChannels);
        check(outChannels > 0, "out_channels", "must be positive, got " + outChannels);
        check(latentChannels > 0, "latent_channels", "must be positive, got " + latentChannels);
        check(layersPerBlock > 0, "layers_per_block", "must be positive, got " + layersPerBlock);
        check(normNumGroups > 0, "norm_num_groups", "must be positive, got " + normNumGroups);
        check(actFn.equals("silu"), "act_fn", "'" + actFn + "' is not supported (only \"silu\")");
        check(blockOutChannels.length > 0, "block_out_channels", "is empty");
        // each level halves the image: the downscale 2^(levels-1) must stay an int
        check(blockOutChannels.length <= 16, "block_out_channels", "has " + blockOutChannels.length + " levels, at most 16 are supported");
        for (int c : blockOutChannels)
            check(c > 0 && c % normNumGroups == 0, "block_out_channels",
                Arrays.toString(blockOutChannels) + " must be positive multiples of norm_num_groups (" + normNumGroups + ")");
        checkBlocks("down_block_types", downBlockTypes, DOWN_BLOCK, blockOutChannels.length);
        checkBlocks("up_block_types", upBlockTypes, UP_BLOCK, blockOutChannels.length);
        check(Float.isFinite(scalingFactor) && scalingFactor > 0, "scaling_factor", "must be a positive number, got " + scalingFactor);
    }

    /** diffusers' defaults, as {@code AutoencoderKL()} would be built. */
    public static VaeConfig defaults() {
        return new VaeConfig(3, 3, List.of(DOWN_BLOCK), List.of(UP_BLOCK), new int[]{64}, 1, "silu", 4, 32, 32, 0.18215f,
            true, true, true, true);
    }

    /** Reads {@code file} (a component's {@code config.json}). */
    public static VaeConfig load(Path file) {
        return parse(file.toString(), JsonFiles.readObject(file));
    }

    /** Builds a config from a parsed {@code config.json}; {@code origin} names it in error messages. */
    public static VaeConfig parse(String origin, JsonNode root) {
        JsonConfig r = new JsonConfig(origin, root);
        VaeConfig d = defaults();
        String cls = r.string("_class_name", "AutoencoderKL");
        if (!cls.equals("AutoencoderKL")) throw new UserError(origin + ": _class_name '" + cls + "' is not supported (only AutoencoderKL)");
        // Pipeline-side latent normalisations of later models (SDXL-class, SD3, Flux) are not SD2's.
        for (String key : List.of("latents_mean", "latents_std", "shift_factor"))
            if (r.node(key) != null) throw new UserError(origin + ": " + key + " is not supported (SD2 VAEs have none; expected null or absent)");
        int inChannels = r.integer("in_channels", d.inChannels), outChannels = r.integer("out_channels", d.outChannels);
        List<String> down = r.strings("down_block_types", d.downBlockTypes), up = r.strings("up_block_types", d.upBlockTypes);
        int[] channels = r.integers("block_out_channels", d.blockOutChannels);
        int layers = r.integer("layers_per_block", d.layersPerBlock);
        String act = r.string("act_fn", d.actFn);
        int latent = r.integer("latent_channels", d.latentChannels), groups = r.integer("norm_num_groups", d.normNumGroups),
            sample = r.positive("sample_size", d.sampleSize);
        float scaling = (float) r.number("scaling_factor", d.scalingFactor);
        boolean quant = r.bool("use_quant_conv", d.useQuantConv), postQuant = r.bool("use_post_quant_conv", d.usePostQuantConv),
            midAttention = r.bool("mid_block_add_attention", d.midBlockAddAttention), upcast = r.bool("force_upcast", d.forceUpcast);
        try {
            return new VaeConfig(inChannels, outChannels, down, up, channels, layers, act, latent, groups, sample, scaling,
                quant, postQuant, midAttention, upcast);
        } catch (UserError e) {
            throw new UserError(origin + ": " + e.getMessage());
        }
    }

    @Override
    public int[] blockOutChannels() { return blockOutChannels.clone(); }

    private static void check(boolean ok, String key, String what) {
        if (!ok) throw new UserError(key + " " + what);
    }

    private static void checkBlocks(String key, List<String> types, String expected, int levels) {
        check(types.size() == levels, key, "has " + types.size() + " entries but block_out_channels has " + levels);
        for (String t : types) check(t.equals(expected), key, "entry '" + t + "' is not supported (only " + expected + ")");
    }
}
