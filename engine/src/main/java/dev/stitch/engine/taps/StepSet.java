package dev.stitch.engine.taps;

import dev.stitch.kernels.UserError;

import java.util.BitSet;

/**
 * The denoising steps (0-based) a capture records, as {@code --at-steps} writes them: {@code all}, or items
 * separated by commas, each a step {@code K} or an inclusive range {@code A-B}: {@code 0,10-19,49}. Calls outside
 * denoising (the text encoder, the VAE; step −1) are not steps and are always recorded.
 */
public final class StepSet {
    public static final StepSet ALL = new StepSet(null, "all");

    private final BitSet steps;   // null: all
    private final String text;

    private StepSet(BitSet steps, String text) {
        this.steps = steps;
        this.text = text;
    }

    public static StepSet of(int... steps) {
        BitSet b = new BitSet();
        StringBuilder s = new StringBuilder();
        for (int k : steps) {
            if (k < 0) throw new UserError("step " + k + " is negative (steps count from 0)");
            b.set(k);
            s.append(s.isEmpty() ? "" : ",").append(k);
        }
        return new StepSet(b, s.toString());
    }

    /** Steps {@code from} through {@code to}, both included. */
    public static StepSet range(int from, int to) {
        if (from < 0 || to < from) throw new UserError("step range " + from + "-" + to + ": expected 0 ≤ A ≤ B");
        BitSet b = new BitSet();
        b.set(from, to + 1);
        return new StepSet(b, from + "-" + to);
    }

    public static StepSet parse(String text) {
        String t = text.strip();
        if (t.equals("all")) return ALL;
        BitSet b = new BitSet();
        for (String item : t.split(",", -1)) {
            String s = item.strip();
            try {
                int dash = s.indexOf('-', 1);
                int from = Integer.parseInt(dash < 0 ? s : s.substring(0, dash).strip());
                int to = dash < 0 ? from : Integer.parseInt(s.substring(dash + 1).strip());
                if (from < 0 || to < from) throw new NumberFormatException();
                b.set(from, to + 1);
            } catch (NumberFormatException e) {
                throw new UserError("steps '" + text + "': '" + s + "' is not a step K or a range A-B with 0 ≤ A ≤ B");
            }
        }
        return new StepSet(b, t);
    }

    /** True for every call outside denoising (step −1) and for the steps of this set. */
    public boolean contains(int step) { return step < 0 || steps == null || steps.get(step); }

    /** Checks that every step exists in a run of {@code total} steps. */
    public StepSet within(int total) {
        if (steps != null && steps.length() > total)
            throw new UserError("steps '" + text + "': step " + (steps.length() - 1) + " does not exist in a run of "
                + total + " steps (0.." + (total - 1) + ")");
        return this;
    }

    @Override
    public String toString() { return text; }
}
