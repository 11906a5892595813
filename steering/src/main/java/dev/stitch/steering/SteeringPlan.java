package dev.stitch.steering;

import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.Editor;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapContext;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.ParameterError;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How a steering file is applied (the schedule of docs/design.md §5): operator, strength (with per-tap overrides),
 * denoising-step window, CFG half, per-token norm preservation, and the token positions of text-encoder taps. {@link #register} installs one editor per tap on a
 * {@link HookedTaps}; closing the returned handle removes them all.
 */
public record SteeringPlan(SteeringFile file, Operator operator, float strength, Map<String, Float> tapStrength,
                           StepSet window, Half half, boolean preserveNorm, TokenSelection tokens) {
    public SteeringPlan {
        if (tokens == null) tokens = TokenSelection.ALL;
        checkStrength("strength", strength);
        tapStrength.forEach((tap, s) -> checkStrength("tapStrength " + tap, s));
    }

    /**
     * One line for a steered image's PNG text: "{@code name}: add at 4 on 2 taps (unet.mid_block, …), window all, half
     * both", with norm preservation and per-tap strengths when set.
     */
    public String describe(String name) {
        List<String> taps = file.taps().keySet().stream().sorted().toList();
        StringBuilder b = new StringBuilder(name).append(": ").append(operator.cliName).append(" at ").append(strength)
            .append(" on ").append(taps.size() == 1 ? taps.getFirst() : taps.size() + " taps (" + taps.getFirst() + ", ...)")
            .append(", window ").append(window).append(", half ").append(half.name().toLowerCase(java.util.Locale.ROOT));
        if (preserveNorm) b.append(", norm preserved");
        if (!tokens.all()) b.append(", tokens ").append(tokens);
        if (!tapStrength.isEmpty()) b.append(", tap strengths ").append(new java.util.TreeMap<>(tapStrength));
        return b.toString();
    }

    /** A strength must be a finite number: NaN or an infinity would turn every steered value into NaN. */
    public static void checkStrength(String parameter, float s) {
        if (!Float.isFinite(s)) throw new ParameterError(parameter, s, "must be a finite number");
    }

    /** Which CFG rows are edited. */
    public enum Half {
        BOTH, COND, UNCOND;

        public static Half parse(String s) {
            return switch (s) {
                case "both" -> BOTH;
                case "cond" -> COND;
                case "uncond" -> UNCOND;
                default -> throw new UserError("half '" + s + "': expected both, cond or uncond");
            };
        }

        boolean includes(CfgHalf h) { return this == BOTH || (this == COND) == (h == CfgHalf.COND); }
    }

    /** The plan the file's own metadata describes, at {@code strength} (null: the file's default strength). */
    public static SteeringPlan defaults(SteeringFile f, Float strength) {
        boolean transport = f.taps().values().iterator().next().transports() != null;
        Operator op = Operator.parse(f.meta(SteeringFile.OPERATOR, transport ? "act" : "add"));
        float s = strength != null ? strength : parseFloat(f.meta(SteeringFile.STRENGTH, "1"), "strength");
        StepSet window = StepSet.parse(f.meta(SteeringFile.WINDOW, "all"));
        return new SteeringPlan(f, op, s, Map.of(), window, Half.parse(f.meta(SteeringFile.HALF, "both")), false, TokenSelection.ALL);
    }

    private static float parseFloat(String s, String what) {
        try {
            return Float.parseFloat(s);
        } catch (NumberFormatException e) {
            throw new UserError(what + " '" + s + "' is not a number");
        }
    }

    public SteeringPlan withOperator(Operator op) { return new SteeringPlan(file, op, strength, tapStrength, window, half, preserveNorm, tokens); }

    public SteeringPlan withStrength(float s) { return new SteeringPlan(file, operator, s, tapStrength, window, half, preserveNorm, tokens); }

    public SteeringPlan withWindow(StepSet w) { return new SteeringPlan(file, operator, strength, tapStrength, w, half, preserveNorm, tokens); }

    public SteeringPlan withHalf(Half h) { return new SteeringPlan(file, operator, strength, tapStrength, window, h, preserveNorm, tokens); }

    /** Edits only these token positions of text-encoder taps (UNet taps have none and are edited whole). */
    public SteeringPlan withTokens(TokenSelection t) { return new SteeringPlan(file, operator, strength, tapStrength, window, half, preserveNorm, t); }

    public SteeringPlan withNormPreserved(boolean p) { return new SteeringPlan(file, operator, strength, tapStrength, window, half, p, tokens); }

    public SteeringPlan withTapStrength(String tap, float s) {
        Map<String, Float> m = new LinkedHashMap<>(tapStrength);
        m.put(tap, s);
        return new SteeringPlan(file, operator, strength, m, window, half, preserveNorm, tokens);
    }

    /** Only the taps in {@code keep} (a sweep over layer sets). */
    public SteeringPlan restrictedTo(List<String> keep) {
        Map<String, SteeringFile.TapVector> m = new LinkedHashMap<>();
        for (String t : keep) {
            SteeringFile.TapVector v = file.taps().get(t);
            if (v == null) throw new UserError("tap '" + t + "' is not in the steering file");
            m.put(t, v);
        }
        return new SteeringPlan(new SteeringFile(file.metadata(), m), operator, strength, tapStrength, window, half, preserveNorm, tokens);
    }

    /**
     * Checks every tap of the file against the model's taps — the name must exist and the channel count match —
     * so a file made for another model is refused with one clear line.
     */
    public void check(TapCatalog catalog, String origin) {
        if (!tokens.all() && file.taps().keySet().stream().noneMatch(t -> t.startsWith(TEXT_ENCODER)))
            throw new UserError(origin + ": tokens " + tokens + " chooses token positions of text-encoder taps, but no tap of the plan is in"
                + " the text encoder (UNet taps are steered at every position)");
        if (operator == Operator.ACT && file.taps().values().iterator().next().transports() == null)
            throw new UserError(origin + ": operator act needs a transport file (extracted with method act-linear or act-mean)");
        if (operator != Operator.ACT && file.taps().values().iterator().next().vectors() == null)
            throw new UserError(origin + ": this file holds AcT transports; use operator act");
        for (SteeringFile.TapVector v : file.taps().values()) {
            if (!catalog.contains(v.tap())) {
                List<String> close = catalog.closest(v.tap(), 3);
                throw new UserError(origin + ": tap '" + v.tap() + "' does not exist in this model" + (close.isEmpty() ? "" : " (closest: " + String.join(", ", close) + ")"));
            }
            int c = catalog.entry(v.tap()).channels();
            if (c != v.channels())
                throw new UserError(origin + ": tap '" + v.tap() + "' has " + c + " channels in this model but " + v.channels()
                    + " in the steering file (made for another model?)");
        }
        // Two names of one tensor would both edit it, the second on top of the first: refused, not merged, since
        // which name's vector and strength should win is the user's call.
        for (SteeringFile.TapVector v : file.taps().values())
            for (String other : catalog.aliases(v.tap()))
                if (file.taps().containsKey(other) && strengthOf(v.tap()) != 0 && strengthOf(other) != 0)
                    throw new UserError(origin + ": taps '" + v.tap() + "' and '" + other + "' are the same tensor, which would be steered twice;"
                        + " steer one of them (set the other's strength to 0)");
    }

    /**
     * Refuses a plan that would steer nothing at this guidance: half uncond edits only unconditional rows, and guidance
     * ≤ 1 (SD-Turbo's 0, for one) runs no unconditional pass, so the image would come out unsteered without a word.
     */
    public void checkGuidance(float guidance, String origin) {
        if (half == Half.UNCOND && !(guidance > 1))
            throw new UserError(origin + ": half uncond steers only the unconditional rows, but guidance " + guidance
                + " (<= 1) runs no unconditional pass, so nothing would be steered; steer half cond or both");
    }

    private float strengthOf(String tap) { return tapStrength.getOrDefault(tap, strength); }

    /** Installed editors: closing removes them (and throws nothing, so try-with-resources needs no catch). */
    public interface Registered extends AutoCloseable {
        @Override
        void close();

        /** Several registrations closed as one. */
        static Registered all(List<Registered> parts) { return () -> parts.forEach(Registered::close); }
    }

    /** Installs the editors; close the handle to remove them. */
    public Registered register(HookedTaps taps) {
        List<HookedTaps.Registration> regs = new ArrayList<>();
        for (SteeringFile.TapVector v : file.taps().values()) {
            float s = strengthOf(v.tap());
            if (s == 0) continue;   // exactly unsteered
            regs.add(taps.register(v.tap(), editor(v, s)));
        }
        return () -> regs.forEach(HookedTaps.Registration::close);
    }

    Editor editor(SteeringFile.TapVector v, float s) {
        // one intervention per vector row, kept, so that a device backend uploads each vector once
        Map<Object, Intervention> made = new ConcurrentHashMap<>();
        return (tap, value, ctx) -> {
            if (ctx.inDenoising() && !window.contains(ctx.step())) return value;
            int[] rows = rows(ctx);
            if (rows.length == 0) return value;
            int step = ctx.step();
            boolean someTokens = !tokens.all() && ctx.layout() == TapLayout.NLC && ctx.rows().hasTokens();
            Intervention iv = operator == Operator.ACT
                ? made.computeIfAbsent(v.transport(step), t -> new Intervention(Operator.ACT, null, (Transport) t, s, preserveNorm))
                : made.computeIfAbsent(v.vector(step), x -> new Intervention(operator, (float[]) x, null, s, preserveNorm));
            return someTokens ? atTokens(iv, ctx, value, rows, tap) : iv.apply(ctx.ops(), value, ctx.layout(), rows);
        };
    }

    private static final String TEXT_ENCODER = "text_encoder.";

    /**
     * The edit of a text-encoder tap's [B, L, C] value at the selected positions of each row only: each run of
     * consecutive positions is sliced out, edited and put back, on the backend that holds the value.
     */
    private Tensor atTokens(Intervention iv, TapContext ctx, Tensor value, int[] rows, String tap) {
        Backend ops = ctx.ops();
        int l = value.shape()[1];
        for (int r : rows) {
            int[] p = java.util.Arrays.stream(tokens.positions(ctx.rows().tokens(r))).distinct().sorted().toArray();
            for (int k = 0; k < p.length; ) {
                if (p[k] >= l) throw new UserError("tokens " + tokens + ": position " + p[k] + " is past the " + l + " tokens of " + tap);
                int a = p[k], b = a + 1;
                while (++k < p.length && p[k] == b) b++;
                Tensor edited = iv.apply(ops, ops.slice(value, 1, a, b), TapLayout.NLC, new int[] {r});
                List<Tensor> parts = new ArrayList<>();
                if (a > 0) parts.add(ops.slice(value, 1, 0, a));
                parts.add(edited);
                if (b < l) parts.add(ops.slice(value, 1, b, l));
                value = parts.size() == 1 ? edited : ops.concat(1, parts.toArray(Tensor[]::new));
            }
        }
        return value;
    }

    private int[] rows(TapContext ctx) {
        List<Integer> r = new ArrayList<>();
        for (int i = 0; i < ctx.batch(); i++) if (half.includes(ctx.half(i))) r.add(i);
        return r.stream().mapToInt(Integer::intValue).toArray();
    }

}
