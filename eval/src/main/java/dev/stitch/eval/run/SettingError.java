package dev.stitch.eval.run;

import dev.stitch.kernels.UserError;

/**
 * A bad evaluation setting, named as the library names it ({@code imagesPerPrompt}, {@code clip}, …), so that a
 * front end can say it in its own words: the CLI turns {@code parameter} into its flag.
 *
 * @param parameter the {@link EvalSettings} parameter at fault
 * @param value     what was given, or null when the problem is a missing value
 * @param problem   what was expected, without the parameter's name
 */
public final class SettingError extends UserError {
    private final String parameter, value, problem;

    public SettingError(String parameter, Object value, String problem) {
        super(parameter + (value == null ? "" : " " + value) + ": " + problem);
        this.parameter = parameter;
        this.value = value == null ? null : value.toString();
        this.problem = problem;
    }

    public String parameter() { return parameter; }

    /** What was given, or null. */
    public String value() { return value; }

    public String problem() { return problem; }
}
