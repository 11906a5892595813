package dev.stitch.kernels;

/**
 * A problem with what the user gave us (a file, a flag, a config): reported as one line, without a stack trace,
 * exit code 2. Internal failures use ordinary exceptions.
 */
public class UserError extends RuntimeException {
    public UserError(String message) { super(message, null, false, false); }

    public UserError(String message, Throwable cause) { super(message, cause, false, false); }
}
