package dev.stitch.kernels;

/**
 * A {@link UserError} about one named parameter of a library call: {@code parameter 'value': problem}, or
 * {@code parameter: problem} where no one value is wrong (a missing or inconsistent setting). A front end
 * that set the parameter from a flag of its own can say so ({@link #as}), so the library never names CLI flags.
 */
public class ParameterError extends UserError {
    private final String parameter, value, problem;

    public ParameterError(String parameter, Object value, String problem) {
        super(parameter + " '" + value + "': " + problem);
        this.parameter = parameter;
        this.value = String.valueOf(value);
        this.problem = problem;
    }

    public ParameterError(String parameter, String problem) {
        super(parameter + ": " + problem);
        this.parameter = parameter;
        this.value = null;
        this.problem = problem;
    }

    /** The parameter's name as the library spells it, e.g. {@code layerSets}. */
    public String parameter() { return parameter; }

    /** The value refused, or null where the problem is not one value's. */
    public String value() { return value; }

    /** What is wrong, without the parameter's name. */
    public String problem() { return problem; }

    /** The same error told as the flag that set the parameter: {@code --flag value: problem}. */
    public UserError as(String flag) { return new UserError(flag + (value == null ? "" : " " + value) + ": " + problem, this); }
}
