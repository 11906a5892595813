package dev.stitch.steering;

import dev.stitch.kernels.UserError;

/**
 * How a steering vector edits each token's channel vector x (docs/design.md §5), at strength α:
 * <ul>
 * <li>{@code add}: x + α·v</li>
 * <li>{@code ablate}: x − α·(x·v̂)v̂ (α = 1 projects the direction out)</li>
 * <li>{@code gated}: x − α·max(0, x·v̂)·v̂ (removes only a positive presence)</li>
 * <li>{@code clamp}: moves the projection p on v̂ to (1−α)p + α‖v‖ (α = 1 clamps it to the vector's own level)</li>
 * <li>{@code act}: (1−α)x + α(ωx + β) per channel, identity outside the source support</li>
 * </ul>
 * Strength 0 is the identity for every operator, bit for bit.
 */
public enum Operator {
    ADD("add"), ABLATE("ablate"), GATED("gated"), CLAMP("clamp"), ACT("act");

    public final String cliName;

    Operator(String cliName) { this.cliName = cliName; }

    public static Operator parse(String s) {
        for (Operator o : values()) if (o.cliName.equals(s)) return o;
        throw new UserError("operator '" + s + "': expected add, ablate, gated, clamp or act");
    }
}
