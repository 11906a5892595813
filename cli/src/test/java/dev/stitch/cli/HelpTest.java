package dev.stitch.cli;

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
}
