package dev.stitch.engine.vae;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code vae/config.json} of diffusers' AutoencoderTiny (TAESD, {@code madebyollin/taesd}). Absent keys take
 * diffusers' defaults ({@code AutoencoderTiny.__init__}, which are TAESD's); values this engine cannot run are refused
 * with the key's name.
 *
 * @param act            {@code act_fn}: the activation inside each block and after the decoder's first conv (the
 *                       blocks' final ReLU is fixed, as in diffusers)
 * @param latentMagnitude {@code latent_magnitude} and {@code latentShift}: only for packing latents into 8-bit
 *                       images (diffusers' {@code scale_latents}); encode and decode do not use them
 * @param scalingFactor  what the pipeline multiplies encoder latents by and divides latents by before decoding: 1.0
 *                       for TAESD, whose latents are already on the UNet's scale
 */
public record AutoencoderTinyConfig(int inChannels, int outChannels, int[] encoderBlockOutChannels, int[] decoderBlockOutChannels,
                                    Activation act, int latentChannels, int upsamplingScalingFactor, int[] numEncoderBlocks,
                                    int[] numDecoderBlocks, float latentMagnitude, float latentShift, float scalingFactor) {

    public static final String CLASS_NAME = "AutoencoderTiny";

    public AutoencoderTinyConfig {
        encoderBlockOutChannels = encoderBlockOutChannels.clone();
        decoderBlockOutChannels = decoderBlockOutChannels.clone();
        numEncoderBlocks = numEncoderBlocks.clone();
        numDecoderBlocks = numDecoderBlocks.clone();
        check(inChannels > 0, "in_channels", "must be positive, got " + inChannels);
        check(outChannels > 0, "out_channels", "must be positive, got " + outChannels);
        check(latentChannels > 0, "latent_channels", "must be positive, got " + latentChannels);
        levels("encoder_block_out_channels", encoderBlockOutChannels, "num_encoder_blocks", numEncoderBlocks);
        levels("decoder_block_out_channels", decoderBlockOutChannels, "num_decoder_blocks", numDecoderBlocks);
        check(encoderBlockOutChannels.length == decoderBlockOutChannels.length, "decoder_block_out_channels",
            "has " + decoderBlockOutChannels.length + " levels but encoder_block_out_channels has " + encoderBlockOutChannels.length
                + " (the decoder must undo the encoder's downscale)");
        // the decoder's nearest upsampling must undo the encoder's stride-2 convs for images to keep their size
        check(upsamplingScalingFactor == 2, "upsampling_scaling_factor", "must be 2 (the encoder halves each level), got "
            + upsamplingScalingFactor);
        check(Float.isFinite(scalingFactor) && scalingFactor > 0, "scaling_factor", "must be a positive number, got " + scalingFactor);
    }

    /** diffusers' defaults, which are TAESD's. */
    public static AutoencoderTinyConfig defaults() {
        int[] ch = {64, 64, 64, 64};
        return new AutoencoderTinyConfig(3, 3, ch, ch, Activation.RELU, 4, 2, new int[] {1, 3, 3, 3}, new int[] {3, 3, 3, 1}, 3f, 0.5f, 1f);
    }

    public static AutoencoderTinyConfig load(Path file) { return parse(file.toString(), JsonFiles.readObject(file)); }

    /** Builds a config from a parsed {@code config.json}; {@code origin} names it in error messages. */
    public static AutoencoderTinyConfig parse(String origin, JsonNode root) {
        JsonConfig r = new JsonConfig(origin, root);
        AutoencoderTinyConfig d = defaults();
        String cls = r.string("_class_name", CLASS_NAME);
        if (!cls.equals(CLASS_NAME)) throw new UserError(origin + ": _class_name '" + cls + "', expected " + CLASS_NAME);
        String actFn = r.string("act_fn", "relu");
        Activation act = switch (actFn) {
            case "relu" -> Activation.RELU;
            case "silu", "swish" -> Activation.SILU;
            case "gelu" -> Activation.GELU;
            default -> throw new UserError(origin + ": act_fn '" + actFn + "' is not supported (relu, silu, swish or gelu)");
        };
        try {
            return new AutoencoderTinyConfig(r.integer("in_channels", d.inChannels), r.integer("out_channels", d.outChannels),
                r.integers("encoder_block_out_channels", d.encoderBlockOutChannels),
                r.integers("decoder_block_out_channels", d.decoderBlockOutChannels), act,
                r.integer("latent_channels", d.latentChannels), r.integer("upsampling_scaling_factor", d.upsamplingScalingFactor),
                r.integers("num_encoder_blocks", d.numEncoderBlocks), r.integers("num_decoder_blocks", d.numDecoderBlocks),
                (float) r.number("latent_magnitude", d.latentMagnitude), (float) r.number("latent_shift", d.latentShift),
                (float) r.number("scaling_factor", d.scalingFactor));
        } catch (UserError e) {
            throw new UserError(origin + ": " + e.getMessage());
        }
    }

    /** Pixels per latent position along each side: one stride-2 conv per level after the first. */
    public int downscale() { return 1 << (encoderBlockOutChannels.length - 1); }

    @Override public int[] encoderBlockOutChannels() { return encoderBlockOutChannels.clone(); }

    @Override public int[] decoderBlockOutChannels() { return decoderBlockOutChannels.clone(); }

    @Override public int[] numEncoderBlocks() { return numEncoderBlocks.clone(); }

    @Override public int[] numDecoderBlocks() { return numDecoderBlocks.clone(); }

    private static void levels(String channelsKey, int[] channels, String blocksKey, int[] blocks) {
        check(channels.length > 0, channelsKey, "is empty");
        check(channels.length <= 16, channelsKey, "has " + channels.length + " levels, at most 16 are supported");
        check(blocks.length == channels.length, blocksKey, "has " + blocks.length + " entries but " + channelsKey + " has " + channels.length);
        for (int b : blocks) check(b >= 0, blocksKey, Arrays.toString(blocks) + " must not be negative");
        // diffusers builds each level's first conv from that level's width, so only equal widths load
        for (int c : channels)
            check(c > 0 && c == channels[0], channelsKey, Arrays.toString(channels) + " must be one positive width repeated"
                + " (diffusers' EncoderTiny and DecoderTiny connect levels of equal width only)");
    }

    private static void check(boolean ok, String key, String what) {
        if (!ok) throw new UserError(key + " " + what);
    }
}
