package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapPattern;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code --steer F[@STRENGTH]} and the schedule flags that apply to every steering file: operator, step window,
 * CFG half, norm preservation, per-tap strengths. Each file's metadata gives the defaults.
 */
final class SteeringOptions {
    @Option(names = "--steer", paramLabel = "F[@STRENGTH]", description = "apply a steering file, optionally at a strength; repeatable")
    List<String> steer = new ArrayList<>();

    @Option(names = "--steer-op", paramLabel = "OP", description = "operator for every --steer file: add, ablate, gated, clamp or act (default: each file's)")
    String op;

    @Option(names = "--steer-window", paramLabel = "LIST|RANGE", description = "denoising steps to steer, e.g. 0-9 or 0,5,10-19 (default: each file's, usually all)")
    String window;

    @Option(names = "--steer-half", paramLabel = "H", description = "CFG rows to steer: both, cond or uncond (default: each file's, usually both)")
    String half;

    @Option(names = "--steer-preserve-norm", description = "rescale each edited token to its norm before the edit")
    boolean preserveNorm;

    @Option(names = "--steer-tap", paramLabel = "TAP=S", description = "strength S for the taps the glob TAP selects, overriding --steer's; repeatable")
    List<String> tapStrengths = new ArrayList<>();

    /** One parsed {@code --steer} value (generate, trace and eval all read it here). */
    record Spec(Path file, Float strength) {
        static Spec parse(String s) {
            int at = s.lastIndexOf('@');
            if (at < 0) return new Spec(Path.of(s), null);
            return new Spec(Path.of(s.substring(0, at)), SteeringOptions.strength("--steer " + s + ": the strength after '@'", s.substring(at + 1)));
        }
    }

    /**
     * A strength flag's number: finite, since NaN or an infinity (also what a number past float's range, like 1e39,
     * rounds to) would make every steered value NaN.
     */
    static float strength(String what, String text) {
        float f;
        try {
            f = Float.parseFloat(text.strip());
        } catch (NumberFormatException e) {
            throw new UserError(what + " must be a number");
        }
        if (!Float.isFinite(f))
            throw new UserError(what + " must be a finite number" + (text.strip().matches("[+-]?[0-9.]+([eE][+-]?[0-9]+)?[fFdD]?") ? " (it is beyond float's range, ±3.4e38)" : ""));
        return f;
    }

    /**
     * Reads, configures and checks every {@code --steer} file against the model's taps at this image size and
     * against the guidance (half uncond needs an unconditional pass; null: the library checks it, per prompt).
     */
    List<SteeringPlan> plans(StableDiffusionPipeline pipe, int width, int height, int steps, Float guidance) {
        List<SteeringPlan> plans = new ArrayList<>();
        if (steer.isEmpty()) {
            if (op != null || window != null || half != null || preserveNorm || !tapStrengths.isEmpty())
                throw new UserError("--steer-op, --steer-window, --steer-half, --steer-preserve-norm and --steer-tap need a --steer file");
            return plans;
        }
        TapCatalog catalog = pipe.tapCatalog(width, height);
        Map<String, String> model = pipe.source == null ? Map.of() : SteeringFile.modelIdentity(pipe.source);
        for (String s : steer) {
            Spec spec = Spec.parse(s);
            SteeringFile file = read(spec.file());
            SteeringPlan plan = apply(SteeringPlan.defaults(file, spec.strength()), steps);
            plan.check(catalog, "--steer " + spec.file());
            if (guidance != null) plan.checkGuidance(guidance, "--steer " + spec.file() + (half != null ? " --steer-half " + half : " (its half is " + half(plan) + ")"));
            String sha = file.meta(SteeringFile.MODEL_SHA, null);
            if (sha != null && model.containsKey(SteeringFile.MODEL_SHA) && !sha.equals(model.get(SteeringFile.MODEL_SHA)))
                System.err.println("stitch: note: " + spec.file() + " was extracted from model '" + file.meta(SteeringFile.MODEL, "?")
                    + "' with other configs; its tap shapes fit this one");
            plans.add(plan);
        }
        for (String ts : tapStrengths) {
            String glob = tapGlob(ts);
            boolean any = plans.stream().anyMatch(p -> p.file().taps().keySet().stream().anyMatch(TapPattern.of(glob)::matches));
            if (!any) throw new UserError("--steer-tap " + ts + ": '" + glob + "' selects no tap of the --steer file(s)");
        }
        return plans;
    }

    private static String half(SteeringPlan plan) { return plan.half().name().toLowerCase(java.util.Locale.ROOT); }

    /** A steering file, its errors told as {@code --steer}'s. */
    static SteeringFile read(Path file) {
        try {
            return SteeringFile.read(file);
        } catch (UserError e) {
            throw new UserError("--steer " + e.getMessage(), e);
        }
    }

    /** The command-line schedule on top of a file's defaults. */
    SteeringPlan apply(SteeringPlan plan, int steps) {
        if (op != null) plan = plan.withOperator(Operator.parse(op));
        if (window != null) plan = plan.withWindow(StepSet.parse(window).within(steps));
        if (half != null) plan = plan.withHalf(SteeringPlan.Half.parse(half));
        if (preserveNorm) plan = plan.withNormPreserved(true);
        for (String ts : tapStrengths) {
            TapPattern p = TapPattern.of(tapGlob(ts));
            float s = tapStrength(ts);
            for (String tap : plan.file().taps().keySet()) if (p.matches(tap)) plan = plan.withTapStrength(tap, s);
        }
        return plan;
    }

    private static String tapGlob(String ts) {
        int eq = ts.lastIndexOf('=');
        if (eq <= 0) throw new UserError("--steer-tap " + ts + ": expected TAP=STRENGTH, e.g. unet.mid_block=2");
        return ts.substring(0, eq).strip();
    }

    private static float tapStrength(String ts) {
        return strength("--steer-tap " + ts + ": the strength after '='", ts.substring(ts.lastIndexOf('=') + 1));
    }

    /** The plans as a steered image's PNG text records them, "; "-separated, each named by its file; null for none. */
    String describe(List<SteeringPlan> plans) {
        if (plans.isEmpty()) return null;
        List<String> parts = new ArrayList<>();
        for (int k = 0; k < plans.size(); k++) parts.add(plans.get(k).describe(Spec.parse(steer.get(k)).file().getFileName().toString()));
        return String.join("; ", parts);
    }

    /** Installs every plan; closing the result removes them all. */
    static SteeringPlan.Registered register(List<SteeringPlan> plans, HookedTaps taps) {
        List<SteeringPlan.Registered> regs = new ArrayList<>();
        for (SteeringPlan p : plans) regs.add(p.register(taps));
        return SteeringPlan.Registered.all(regs);
    }
}
