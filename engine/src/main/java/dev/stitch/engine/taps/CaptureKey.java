package dev.stitch.engine.taps;

import dev.stitch.kernels.UserError;

/**
 * What one captured tensor is: the tap, the step (−1 for calls outside denoising and for means over a step window)
 * and the CFG half whose rows it holds. In files it is named {@code TAP/step{k}/{cond|uncond}}, or
 * {@code TAP/{cond|uncond}} without a step.
 */
public record CaptureKey(String tap, int step, CfgHalf half) {
    public String tensorName() {
        return step >= 0 ? tap + "/step" + step + "/" + half.label : tap + "/" + half.label;
    }

    /** The inverse of {@link #tensorName()}. */
    public static CaptureKey parse(String name) {
        String[] p = name.split("/");
        CfgHalf half = switch (p[p.length - 1]) {
            case "cond" -> CfgHalf.COND;
            case "uncond" -> CfgHalf.UNCOND;
            default -> null;
        };
        if (half != null && p.length == 2) return new CaptureKey(p[0], -1, half);
        if (half != null && p.length == 3 && p[1].matches("step\\d+")) return new CaptureKey(p[0], Integer.parseInt(p[1].substring(4)), half);
        throw new UserError("tensor '" + name + "' is not named TAP/step{k}/{cond|uncond} or TAP/{cond|uncond}");
    }
}
