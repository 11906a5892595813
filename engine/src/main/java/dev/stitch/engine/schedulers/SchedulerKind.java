package dev.stitch.engine.schedulers;

import dev.stitch.kernels.ParameterError;
import dev.stitch.kernels.UserError;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The schedulers Stitch implements, each with the diffusers class it follows and that class's default spacing. */
public enum SchedulerKind {
    DDIM("ddim", "DDIMScheduler", TimestepSpacing.LEADING),
    PNDM("pndm", "PNDMScheduler", TimestepSpacing.LEADING),
    EULER("euler", "EulerDiscreteScheduler", TimestepSpacing.LINSPACE),
    EULER_ANCESTRAL("euler-a", "EulerAncestralDiscreteScheduler", TimestepSpacing.LINSPACE),
    DPM_SOLVER_MULTISTEP("dpm++2m", "DPMSolverMultistepScheduler", TimestepSpacing.LINSPACE);

    /** How users write it: {@code ddim}, {@code pndm}, {@code euler}, {@code euler-a}, {@code dpm++2m}. */
    public final String label;
    /** The {@code _class_name} of a diffusers scheduler config. */
    public final String diffusersClass;
    /** The spacing the diffusers class uses when the config sets none. */
    public final TimestepSpacing defaultSpacing;

    SchedulerKind(String label, String diffusersClass, TimestepSpacing defaultSpacing) {
        this.label = label;
        this.diffusersClass = diffusersClass;
        this.defaultSpacing = defaultSpacing;
    }

    /** Every label, comma-separated, for messages. */
    public static String labels() { return Arrays.stream(values()).map(k -> k.label).collect(Collectors.joining(", ")); }

    /** A user's value. */
    public static SchedulerKind parse(String s) {
        String l = s.strip().toLowerCase(Locale.ROOT);
        for (SchedulerKind k : values()) if (k.label.equals(l)) return k;
        throw new ParameterError("scheduler", s, "expected one of " + labels());
    }

    /** The scheduler a model's config names ({@code _class_name}); DDIM when it names none. */
    public static SchedulerKind of(SchedulerConfig cfg) {
        String cls = cfg.className();
        if (cls == null) return DDIM;
        for (SchedulerKind k : values()) if (k.diffusersClass.equals(cls)) return k;
        throw new UserError(cfg.source() + ": scheduler " + cls + " is not supported; ask for one of " + labels() + " instead");
    }

    @Override
    public String toString() { return label; }
}
