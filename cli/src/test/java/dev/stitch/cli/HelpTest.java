package dev.stitch.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Model.OptionSpec;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README promises that `stitch --help` lists the commands and that each command has `--help`. */
class HelpTest {
    @Test
    void everyCommandAnswersHelpWithItsUsage() {
        var top = CliRunner.run("--help");
        assertEquals(0, top.code(), top.err());
        var commands = new CommandLine(new Main()).getSubcommands().keySet();
        assertTrue(commands.size() >= 13, "commands: " + commands);
        for (String name : commands) {
            if (!name.equals("unet-forward")) assertTrue(top.out().contains("  " + name + " "), name + " missing from stitch --help:\n" + top.out());
            for (String flag : new String[] {"--help", "-h"}) {
                var r = CliRunner.run(name, flag);
                assertEquals(0, r.code(), "stitch " + name + " " + flag + ": " + r.err());
                assertTrue(r.out().startsWith("Usage: stitch " + name), "stitch " + name + " " + flag + " printed:\n" + r.out() + r.err());
            }
        }
    }

    @Test
    void versionAnswersEverywhere() {
        var r = CliRunner.run("generate", "--version");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("stitch "), r.out());
    }

    /**
     * What {@code --help} says an option defaults to is what the code uses: a default in the help text is either
     * picocli's {@code ${DEFAULT-VALUE}} (printed from the value the code gets) or a literal equal to that value or
     * to the field's initial value. A default the code computes (from the model, the file, another flag) must be one
     * of {@link #COMPUTED}, each checked by a test of its command.
     */
    @Test
    void helpDefaultsAreTheValuesTheCodeUses() {
        List<String> wrong = new ArrayList<>();
        Pattern stated = Pattern.compile("(?i)\\bdefault(?:s to|:)?\\s+([^;)]+)");
        for (var sub : new CommandLine(new Main()).getSubcommands().entrySet()) {
            for (OptionSpec o : sub.getValue().getCommandSpec().options()) {
                String raw = String.join(" ", o.description());
                if (raw.contains("${DEFAULT-VALUE}")) {
                    if (o.defaultValue() == null) wrong.add(sub.getKey() + " " + o.longestName() + ": help prints ${DEFAULT-VALUE} but there is none");
                    continue;
                }
                Matcher m = stated.matcher(raw);
                if (!m.find()) continue;
                String said = m.group(1).strip();
                String key = sub.getKey() + " " + o.longestName();
                Object initial = o.initialValue();
                boolean literal = said.equals(o.defaultValue()) || (initial != null && said.equals(String.valueOf(initial)));
                boolean computed = COMPUTED.contains(o.longestName() + " = " + said) || COMPUTED.contains(key + " = " + said);
                if (!literal && !computed) wrong.add(key + ": help says \"default " + said
                    + "\", the code's default is " + (o.defaultValue() != null ? o.defaultValue() : initial));
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    /** Defaults the code computes, as help states them; each is covered by its command's tests. */
    private static final Set<String> COMPUTED = Set.of(
        // computed from the model, its scheduler config, a file beside the input, or the steering file
        "--config = <name>.yaml beside it",
        "--dtype = as in the source",
        "--feature-cache = $XDG_CACHE_HOME/stitch/features or ~/.cache/stitch/features",
        "--height = the model's",
        "--json = the grid's name with .json",
        "--judge-question = \"Does this image show TEXT?\" with --probe-concept",
        "--layer-sets = all, early, middle, late, each one the file has taps in",
        "--model = the tiny random-weight model, written to DIR/model",
        "--operators = the file's operator",
        "--prediction = the scheduler config's",
        "--scheduler = the model's",
        "score --out = RUN/scored",
        "--steer-half = each file's, usually both",
        "--steer-op = each file's",
        "--steer-window = each file's, usually all",
        "--timestep-spacing = the scheduler config's",
        "--tokenizer = a built-in byte-level vocabulary",
        "--tokenizer = --config-from's, else tokenizer/ beside the checkpoint",
        "--tokenizer = tokenizer/ beside the file",
        "--variant = the default files, else the only variant there is",
        "--width = the model's",
        // eval: a prompt set's own guidance unless --guidance is given (EvalCommandTest.anExplicitGuidanceWinsOverThePromptSetsColumn)
        "eval --guidance = the prompt set's where it has one, else 7.5",
        // the seed: random and printed where one image is made; 0 where results are compared across runs
        "eval --seed = 0",
        "extract --seed = 0",
        "generate --seed = random, printed",
        "layers --seed = 0",
        "sweep --seed = random, printed",
        "trace --seed = random, printed");
}
