package dev.stitch.cli;

import dev.stitch.kernels.ParameterError;
import dev.stitch.kernels.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The {@code stitch} command. Exit codes: 0 success, 2 user error (one line on stderr), 1 internal error.
 * Set STITCH_DEBUG=1 to see stack traces.
 */
@Command(name = "stitch", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "stitch 0.1.0",
    description = "Stable Diffusion 2 in Java, built for activation steering.",
    subcommands = {
        GenerateCommand.class,
        MakeRandomModelCommand.class,
        InspectCommand.class,
        ConvertCommand.class,
        DecodeCommand.class,
        EncodeCommand.class,
        PullCommand.class,
        ExtractCommand.class,
        LayersCommand.class,
        SweepCommand.class,
        DemoCommand.class,
        EvalCommand.class,
        EvalMergeCommand.class,
        AblateCommand.class,
        ScoreCommand.class,
        StudyCommand.class,
        TapsCommand.class,
        TraceCommand.class,
        UNetForwardCommand.class,
    })
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand"); }

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs the CLI and returns its exit code (tests call this directly). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.registerConverter(Path.class, Main::path);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            String hint = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                ? "; did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).toList()) + "?" : "";
            System.err.println("stitch: " + ex.getMessage() + hint + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            Throwable t = ex;
            while (!(t instanceof UserError) && t.getCause() != null && t.getCause() != t) t = t.getCause();
            if (t instanceof UserError) {
                // a generation parameter the library named is told as the flag that set it
                String flag = t instanceof ParameterError p ? GenerationOptions.flag(p.parameter()) : null;
                String message = flag != null ? ((ParameterError) t).as(flag).getMessage() : t.getMessage();
                System.err.println("stitch: " + message);
                if (debug()) ex.printStackTrace();
                return 2;
            }
            System.err.println("stitch: internal error: " + ex);
            if (debug()) ex.printStackTrace();
            else System.err.println("stitch: (set STITCH_DEBUG=1 for the stack trace)");
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // Reached when the heap is too small for the model (the weights are packed on the Java heap).
            System.err.printf("stitch: out of memory (the Java heap may grow to %.1f GB); give it more with STITCH_JAVA_OPTS=-Xmx<size>"
                + " or use a smaller image or batch%n", Runtime.getRuntime().maxMemory() / 1e9);
            if (debug()) e.printStackTrace();
            return 1;
        }
    }

    /**
     * A path flag's value. Under a locale whose charset cannot spell the name (LANG=C and a non-ASCII name), the JDK
     * cannot turn it into a file name at all: say so and how to fix it, instead of an InvalidPathException.
     */
    static Path path(String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a file name this system can use: "
                + (value.chars().allMatch(c -> c < 128) ? e.getReason()
                    : "the locale's file name encoding (" + System.getProperty("sun.jnu.encoding") + ") cannot spell its non-ASCII characters;"
                        + " run with a UTF-8 locale, e.g. LC_ALL=C.UTF-8"));
        }
    }

    private static boolean debug() { return System.getenv("STITCH_DEBUG") != null; }
}
