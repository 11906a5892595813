package dev.stitch.engine;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/library.md's pom.xml for an embedding program names modules that exist, this version, and the Vector API flags. */
class LibraryPageTest {
    static final Path ROOT = Path.of("..");

    @Test
    void theEmbeddingPomNamesRealModulesAndTheFlagsTheyNeed() throws Exception {
        String page = Files.readString(ROOT.resolve("docs/library.md"));
        Matcher m = Pattern.compile("```xml\\n(.*?)```", Pattern.DOTALL).matcher(page);
        assertTrue(m.find(), "docs/library.md has no pom.xml block");
        var f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(false);
        var doc = f.newDocumentBuilder().parse(new ByteArrayInputStream(m.group(1).getBytes(StandardCharsets.UTF_8)));
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        Matcher version = Pattern.compile("<artifactId>stitch-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(parent);
        assertTrue(version.find());
        Set<String> modules = new HashSet<>();
        Matcher mod = Pattern.compile("<module>([^<]+)</module>").matcher(parent);
        while (mod.find()) {
            Matcher a = Pattern.compile("</parent>\\s*<artifactId>([^<]+)</artifactId>")
                .matcher(Files.readString(ROOT.resolve(mod.group(1)).resolve("pom.xml")));
            assertTrue(a.find(), mod.group(1));
            modules.add(a.group(1));
        }
        NodeList deps = doc.getElementsByTagName("dependency");
        assertFalse(deps.getLength() == 0);
        for (int i = 0; i < deps.getLength(); i++) {
            Element d = (Element) deps.item(i);
            String artifact = text(d, "artifactId");
            assertTrue(modules.contains(artifact), artifact + " is not a module of " + modules);
            assertEquals(version.group(1), text(d, "version"), artifact);
        }
        assertEquals("25", text(doc.getDocumentElement(), "maven.compiler.release"));
        assertTrue(m.group(1).contains("<arg>jdk.incubator.vector</arg>"), "the compiler needs the Vector API module");
        assertTrue(page.contains("java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"));
        // every module the table names exists
        Matcher named = Pattern.compile("`(stitch-[a-z-]+)`").matcher(page);
        while (named.find()) assertTrue(modules.contains(named.group(1)), named.group(1));
    }

    private static String text(Element e, String tag) {
        NodeList n = e.getElementsByTagName(tag);
        return n.getLength() == 0 ? null : n.item(0).getTextContent().strip();
    }
}
