package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code --steer F[@STRENGTH]}: loads steering files, checks them against the model, installs their editors. */
final class Steering {
    private Steering() {}

    /** One parsed {@code --steer} value. */
    record Spec(Path file, Float strength) {
        static Spec parse(String s) {
            int at = s.lastIndexOf('@');
            if (at < 0) return new Spec(Path.of(s), null);
            try {
                return new Spec(Path.of(s.substring(0, at)), Float.parseFloat(s.substring(at + 1)));
            } catch (NumberFormatException e) {
                throw new UserError("--steer " + s + ": strength after '@' must be a number");
            }
        }
    }

    static List<SteeringPlan> plans(List<String> specs, StableDiffusionPipeline pipe, int width, int height) {
        List<SteeringPlan> plans = new ArrayList<>();
        if (specs.isEmpty()) return plans;
        TapCatalog catalog = pipe.tapCatalog(width, height);
        for (String s : specs) {
            Spec spec = Spec.parse(s);
            SteeringPlan plan = SteeringPlan.defaults(SteeringFile.read(spec.file()), spec.strength());
            plan.check(catalog, "--steer " + spec.file());
            plans.add(plan);
        }
        return plans;
    }

    /** Installs every plan; closing the result removes them all. */
    static AutoCloseable register(List<SteeringPlan> plans, HookedTaps taps) {
        List<AutoCloseable> regs = new ArrayList<>();
        for (SteeringPlan p : plans) regs.add(p.register(taps));
        return () -> {
            for (AutoCloseable r : regs) r.close();
        };
    }
}
