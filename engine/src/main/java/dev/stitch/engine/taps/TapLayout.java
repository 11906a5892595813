package dev.stitch.engine.taps;

/** How a tap's value is laid out, and so which axis holds the channels that steering vectors live on. */
public enum TapLayout {
    /** [B, C, H, W]: conv-family modules. */
    NCHW(1),
    /** [B, L, C]: transformer-family modules (tokens in row-major (h, w) order for images). */
    NLC(2),
    /** [B, C]: vectors such as the time embedding. */
    NC(1);

    public final int channelAxis;

    TapLayout(int channelAxis) { this.channelAxis = channelAxis; }
}
