package dev.stitch.engine.taps;

/**
 * Which half of a classifier-free-guidance batch a row belongs to. Rows of calls without guidance (guidance ≤ 1,
 * the VAE, a text encoder run on the prompts) are {@link #COND}.
 */
public enum CfgHalf {
    UNCOND("uncond"), COND("cond");

    /** The name used in trace files and flags: {@code cond}, {@code uncond}. */
    public final String label;

    CfgHalf(String label) { this.label = label; }
}
