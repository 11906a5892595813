package dev.stitch.steering;

import dev.stitch.kernels.UserError;

/**
 * Where a tap sits in the model, for early/middle/late comparisons: the UNet split by its blocks — early = the down
 * path (conv_in, the time embedding, down_blocks), middle = mid_block, late = the up path (up_blocks, conv_norm_out,
 * conv_out) — plus the text encoder and the VAE.
 */
public enum LayerGroup {
    TEXT("text"), EARLY("early"), MIDDLE("middle"), LATE("late"), VAE("vae");

    public final String label;

    LayerGroup(String label) { this.label = label; }

    public static LayerGroup of(String tap) {
        if (tap.startsWith("text_encoder.")) return TEXT;
        if (tap.startsWith("vae.")) return VAE;
        if (tap.equals("unet.mid_block") || tap.startsWith("unet.mid_block.")) return MIDDLE;
        if (tap.startsWith("unet.up_blocks") || tap.startsWith("unet.conv_norm_out") || tap.startsWith("unet.conv_out")) return LATE;
        return EARLY;
    }

    public static LayerGroup parse(String s) {
        for (LayerGroup g : values()) if (g.label.equals(s)) return g;
        throw new UserError("layer group '" + s + "': expected text, early, middle, late or vae");
    }
}
