package dev.stitch.steering;

import dev.stitch.engine.taps.Reduction;
import dev.stitch.kernels.UserError;

/**
 * Which token positions of a text-encoder tap a {@link SteeringPlan} edits: {@code all}, {@code last} (the prompt's
 * last word, before EOS), {@code eos} (CLIP's end-of-text token, whose state becomes the pooled output) or explicit
 * positions {@code 0,5,6} (0 is BOS). The same words and rules as {@code capture.tokens}' pooling ({@link Reduction}).
 * UNet taps have no token positions: a plan edits all of theirs whatever this says.
 *
 * @param pick the positions' rule; null for all
 */
public record TokenSelection(Reduction pick) {
    public static final TokenSelection ALL = new TokenSelection(null);

    public static TokenSelection parse(String s) {
        if (s.strip().equals("all")) return ALL;
        Reduction r;
        try {
            r = Reduction.parse(s);
        } catch (UserError e) {
            r = null;
        }
        if (r == null || !r.picksTokens()) throw new UserError("tokens '" + s + "': expected all, last, eos or token positions like 0,5,6");
        return new TokenSelection(r);
    }

    public boolean all() { return pick == null; }

    /** The positions to edit in a prompt of token ids {@code ids}. */
    public int[] positions(int[] ids) { return pick.tokenPositions(ids); }

    @Override
    public String toString() { return pick == null ? "all" : pick.toString(); }
}
