package dev.stitch.engine;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A clone of the repository is all a maintainer has: sources and docs cite {@code docs/design.md} by sections that
 * exist, and nothing reads from or points to a folder beside the checkout (a test that did would skip its checks on
 * a fresh clone instead of running them).
 */
class RepositoryStandsAloneTest {
    static final Path ROOT = Path.of("..");
    static final Pattern HEADING = Pattern.compile("(?m)^## (\\d+)\\. ");
    // "docs/design.md §4", "`docs/design.md` §6", "[docs/design.md](docs/design.md) §6"
    static final Pattern CITATION = Pattern.compile("design\\.md[`)\\]]* §(\\d+)");
    // design.md's references to its own sections; "`docs/steering.md` §6" is another page's section.
    static final Pattern INNER = Pattern.compile("(?<!\\.md` )§(\\d+)");
    // Spelled in pieces so that this file does not match itself.
    static final List<String> OUTSIDE = List.of(".." + "/shared", "stitch" + ".shared", "DESIGN" + " §", "DESIGN" + ".md");

    @Test
    void citationsOfTheDesignNameSectionsThatExist() throws IOException {
        String design = Files.readString(ROOT.resolve("docs/design.md"));
        Set<String> sections = new TreeSet<>();
        for (Matcher m = HEADING.matcher(design); m.find(); ) sections.add(m.group(1));
        assertFalse(sections.isEmpty(), "docs/design.md has no numbered sections");
        List<String> broken = new ArrayList<>();
        for (Matcher m = INNER.matcher(design); m.find(); )
            if (!sections.contains(m.group(1))) broken.add("docs/design.md: §" + m.group(1));
        for (Path f : sources()) {
            String text = Files.readString(f);
            for (Matcher m = CITATION.matcher(text); m.find(); )
                if (!sections.contains(m.group(1))) broken.add(ROOT.relativize(f) + ": §" + m.group(1));
        }
        assertEquals(List.of(), broken, "citations of sections docs/design.md does not have (it has " + sections + ")");
    }

    @Test
    void nothingPointsOutsideTheRepository() throws IOException {
        List<String> found = new ArrayList<>();
        for (Path f : sources()) {
            String text = Files.readString(f);
            for (String s : OUTSIDE) if (text.contains(s)) found.add(ROOT.relativize(f) + ": " + s);
        }
        assertEquals(List.of(), found, "the repository must stand alone: conformance data is in conformance/ "
            + "(system property stitch.conformance), prompt sets in data/ (stitch.data), the design in docs/design.md");
    }

    /** Java sources, docs, poms and scripts of every module, without build outputs and test data. */
    static List<Path> sources() throws IOException {
        try (Stream<Path> all = Files.walk(ROOT)) {
            return all.filter(Files::isRegularFile)
                .filter(p -> {
                    String s = ROOT.relativize(p).toString().replace('\\', '/');
                    return !s.startsWith(".git/") && !("/" + s).contains("/target/") && !s.startsWith("conformance/")
                        && !s.startsWith("data/") && !s.startsWith("gpu-pack/")
                        && (s.endsWith(".java") || s.endsWith(".md") || s.endsWith(".xml") || s.endsWith(".sh")
                            || s.endsWith(".py") || s.equals("build") || s.equals("stitch"));
                })
                .sorted().toList();
        }
    }
}
