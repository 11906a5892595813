package dev.stitch.eval.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.metrics.Estimate;
import dev.stitch.eval.metrics.Inappropriateness;
import dev.stitch.eval.metrics.Proportion;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.eval.run.RunFolder;
import dev.stitch.eval.run.Shard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ReportHtmlTest {
    static final String TRICKY = "a <b>bold</b> & \"quoted\" 'prompt' with \uD83E\uDEA6\nand a second line";
    /** Baseline, and two steered setups: each gets its own solid colour so a screenshot can find them. */
    static final int[] COLOURS = {0xE01010, 0x10C020, 0x1030E0};
    static final String[] SETUPS = {"baseline", "steer nudity@-4", "steer nudity@-8"};

    /** A run folder with 2 prompts × 3 setups × 2 images, and a report describing it. */
    static Report synthetic(Path dir) throws Exception {
        ObjectNode req = Jsonl.JSON.createObjectNode().put("model", "sd2-base").put("prompts", "i2p.csv")
            .put("category", "sexual").put("images_per_prompt", 2);
        req.putArray("steer").add("nudity.safetensors@-4").add("nudity.safetensors@-8");
        RunFolder run = RunFolder.create(dir, req, Shard.ALL, 12);
        List<Report.Grid> grids = new ArrayList<>();
        String[] prompts = {TRICKY, "a plain prompt"};
        int img = 0;
        for (String prompt : prompts) {
            List<Report.GridRow> rows = new ArrayList<>();
            for (int s = 0; s < SETUPS.length; s++) {
                List<String> names = new ArrayList<>();
                for (int k = 0; k < 2; k++) {
                    String name = String.format("images/%06d.png", img++);
                    BufferedImage b = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) b.setRGB(x, y, COLOURS[s]);
                    ImageIO.write(b, "png", dir.resolve(name).toFile());
                    names.add(name);
                }
                rows.add(new Report.GridRow(SETUPS[s], names));
            }
            grids.add(new Report.Grid(prompt, rows));
        }
        List<Report.Setting> settings = new ArrayList<>();
        run.spec().properties().forEach(e -> settings.add(new Report.Setting(e.getKey(),
            e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString())));

        Random r = new Random(3);
        List<Report.Row> rows = new ArrayList<>();
        for (int s = 0; s < SETUPS.length; s++) {
            boolean[][] flags = new boolean[50][10];
            double rate = 0.3 / (1 + s);
            for (boolean[] f : flags) for (int i = 0; i < 10; i++) f[i] = r.nextDouble() < rate;
            Proportion p = Inappropriateness.share(flags, 0.95);
            Estimate emi = Inappropriateness.expectedMaximum(Inappropriateness.perPrompt(flags), 25, 1000, 1);
            rows.add(new Report.Row(SETUPS[s], java.util.Arrays.asList( // a null cell: no value
                Report.Cell.interval(p.share(), p.low(), p.high(), (int) p.n()),
                Report.Cell.meanStd(emi.mean(), emi.std()),
                s == 0 ? null : Report.Cell.of(31.5 - s))));
        }
        Report.Table i2p = new Report.Table("I2P sexual (VLM judge)", List.of("inappropriate", "expected max", "CLIP score"), rows,
            "95% Wilson intervals; expected maximum over 25-prompt draws, mean \u00b1 std of 1000 draws.");
        Report.Table quality = new Report.Table("Image quality vs COCO-30k", List.of("FID", "KID \u00d7 1000"),
            List.of(new Report.Row("baseline", List.of(Report.Cell.of(14.21), Report.Cell.meanStd(3.1, 0.4))),
                new Report.Row("steer nudity@-8", List.of(Report.Cell.of(17.9), Report.Cell.meanStd(4.6, 0.5)))), null);

        List<Report.Point> strength = new ArrayList<>(), strength2 = new ArrayList<>();
        for (int k = 0; k <= 4; k++) {
            double y = 0.3 * Math.exp(-k / 2.0);
            strength.add(new Report.Point(-2 * k, y, y - 0.03, y + 0.03));
            strength2.add(Report.Point.of(-2 * k, 0.25 * Math.exp(-k / 3.0)));
        }
        Report.Plot vsStrength = new Report.Plot("Flagged share vs strength", "strength", "share flagged", null,
            List.of(new Report.Series("mean difference", strength), new Report.Series("PCA", strength2)));
        List<String> layers = List.of("unet.down_blocks.2.attentions.1", "unet.mid_block", "unet.up_blocks.1.attentions.0");
        List<Report.Point> byLayer = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) byLayer.add(new Report.Point(i, 0.1 + 0.05 * i, 0.08 + 0.05 * i, 0.12 + 0.05 * i));
        Report.Plot vsLayer = new Report.Plot("Flagged share vs layer", "tap", "share flagged", layers,
            List.of(new Report.Series("strength \u22124", byLayer)));
        return new Report("Stitch evaluation: I2P sexual", settings, List.of(i2p, quality), List.of(vsStrength, vsLayer), grids);
    }

    static Document parseXml(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        f.setExpandEntityReferences(false);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
    }

    static List<Element> elements(Document d, String tag) {
        NodeList nl = d.getElementsByTagName(tag);
        List<Element> l = new ArrayList<>();
        for (int i = 0; i < nl.getLength(); i++) l.add((Element) nl.item(i));
        return l;
    }

    @Test
    void wellFormedSelfContainedAndComplete(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        Report report = synthetic(dir);
        Path out = ReportHtml.write(report, dir, false);
        assertEquals(dir.resolve("report.html"), out);
        try (var s = Files.list(dir)) {
            assertEquals(List.of("images", "report.html", "run.json"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                "written atomically: no temporary file left");
        }
        String html = Files.readString(out);
        Document d = parseXml(html); // every tag closed, only XML entities
        assertEquals("html", d.getDocumentElement().getTagName());
        assertEquals(3, elements(d, "table").size(), "settings + two metric tables");
        assertEquals(2, elements(d, "caption").size());
        assertEquals(2, elements(d, "svg").size());
        assertEquals(2 * 5 + 3, elements(d, "circle").size(), "one marker per point");
        List<Element> imgs = elements(d, "img");
        assertEquals(12, imgs.size());
        for (Element img : imgs) {
            String src = img.getAttribute("src");
            assertTrue(src.startsWith("images/"), src);
            assertTrue(Files.isRegularFile(dir.resolve(src)), src);
        }
        assertTrue(elements(d, "script").isEmpty());
        assertFalse(Pattern.compile("(src|href)\\s*=\\s*\"(https?:)?//").matcher(html).find(), "no external resources");
        assertFalse(html.contains("http://") || html.contains("https://"));
        assertFalse(html.contains("@import"));
        // the tricky prompt survives escaping exactly
        String promptText = elements(d, "p").stream().filter(p -> p.getAttribute("class").equals("prompt")).findFirst().orElseThrow().getTextContent();
        assertEquals(TRICKY, promptText);
        // table cells: value, interval, n; a missing value is a dash
        String tableText = elements(d, "table").get(1).getTextContent();
        assertTrue(tableText.contains("n=500"), tableText);
        assertTrue(tableText.contains("\u2014"), tableText);
        assertTrue(tableText.contains("\u00b1"), tableText);
    }

    @Test
    void inlineImagesAreDataUrlsOfTheFiles(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        Report report = synthetic(dir);
        String html = Files.readString(ReportHtml.write(report, dir, true));
        List<Element> imgs = elements(parseXml(html), "img");
        assertEquals(12, imgs.size());
        for (int i = 0; i < imgs.size(); i++) {
            String src = imgs.get(i).getAttribute("src");
            assertTrue(src.startsWith("data:image/png;base64,"), src.substring(0, 30));
            byte[] bytes = Base64.getDecoder().decode(src.substring("data:image/png;base64,".length()));
            String alt = imgs.get(i).getAttribute("alt");   // "setup: images/000123.png"
            assertArrayEquals(Files.readAllBytes(dir.resolve(alt.substring(alt.lastIndexOf(": ") + 2))), bytes);
        }
        assertThrows(dev.stitch.kernels.UserError.class, () -> ReportHtml.dataUrl(dir, "../outside.png"));
    }

    @Test
    void numbersAndTicks() {
        assertEquals("0.2191", ReportHtml.num(0.219123));
        assertEquals("14.21", ReportHtml.num(14.2149));
        assertEquals("\u22123.5", ReportHtml.num(-3.5));
        assertEquals("1.235e+07", ReportHtml.num(12345678));
        assertEquals("0", ReportHtml.num(0));
        assertArrayEquals(new double[] {0, 0.1, 0.2, 0.3}, SvgPlot.ticks(0.01, 0.29), 1e-12);
        assertArrayEquals(new double[] {-10, -8, -6, -4, -2, 0}, SvgPlot.ticks(-8.5, 0), 1e-12);
        assertEquals("&lt;a href=&quot;x&quot;&gt; &amp; &#39;", ReportHtml.esc("<a href=\"x\"> & '"));
    }

    /** Chromium, if installed, renders the report: the DOM has the tables and images, and the images are drawn. */
    @Test
    void rendersInHeadlessChromium(@TempDir Path tmp) throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        assumeTrue(Files.isExecutable(chromium), "chromium is not installed (apt-get install chromium): browser check skipped");
        Path dir = tmp.resolve("run");
        Path html = ReportHtml.write(synthetic(dir), dir, false);
        String url = html.toUri().toString();

        String dom = runChromium(chromium, tmp, "--dump-dom", url);
        assertEquals(3, count(dom, "<table"), dom.length() > 2000 ? dom.substring(0, 2000) : dom);
        assertEquals(2, count(dom, "<svg"));
        assertEquals(12, count(dom, "<img"));
        assertTrue(dom.contains("Stitch evaluation: I2P sexual"));
        assertTrue(dom.contains("a &lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\" 'prompt' with \uD83E\uDEA6"), "escaped prompt text in the DOM");
        for (String bad : new String[] {"ERR_FILE_NOT_FOUND", "ERR_ACCESS_DENIED", "This site can", "is not available", "parsererror"})
            assertFalse(dom.contains(bad), bad);

        Path shot = tmp.resolve("shot.png");
        runChromium(chromium, tmp, "--window-size=1280,4000", "--screenshot=" + shot, url);
        BufferedImage png = ImageIO.read(shot.toFile());
        assertNotNull(png, "no screenshot");
        int[] found = new int[COLOURS.length];
        for (int y = 0; y < png.getHeight(); y += 2)
            for (int x = 0; x < png.getWidth(); x += 2) {
                int rgb = png.getRGB(x, y);
                for (int c = 0; c < COLOURS.length; c++) if (near(rgb, COLOURS[c])) found[c]++;
            }
        for (int c = 0; c < COLOURS.length; c++)
            assertTrue(found[c] > 1000, SETUPS[c] + " images not drawn (" + found[c] + " pixels of their colour)");
        // side by side: the first rows of the baseline's and each steered setup's colour share a height on the page
        int[] firstRow = new int[COLOURS.length];
        java.util.Arrays.fill(firstRow, -1);
        for (int y = 0; y < png.getHeight(); y++)
            for (int x = 0; x < png.getWidth(); x += 2)
                for (int c = 0; c < COLOURS.length; c++) if (firstRow[c] < 0 && near(png.getRGB(x, y), COLOURS[c])) firstRow[c] = y;
        for (int c = 1; c < COLOURS.length; c++)
            assertTrue(Math.abs(firstRow[c] - firstRow[0]) <= 2, SETUPS[c] + " starts at y=" + firstRow[c] + ", the baseline at y=" + firstRow[0]);
    }

    @Test
    void aPromptsImagesAreSideBySideOneColumnPerSetup(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        Document d = parseXml(Files.readString(ReportHtml.write(synthetic(dir), dir, false)));
        Element images = elements(d, "div").stream().filter(e -> e.getAttribute("class").equals("images")).findFirst().orElseThrow();
        assertTrue(images.getAttribute("style").contains("repeat(3,"), "a column per setup: " + images.getAttribute("style"));
        List<String> order = new ArrayList<>();
        NodeList kids = images.getChildNodes();
        for (int i = 0; i < kids.getLength(); i++)
            if (kids.item(i) instanceof Element e) order.add(e.getTagName().equals("img") ? e.getAttribute("src") : e.getTextContent());
        // labels, then row by row: image k of every setup next to each other (setup s's images are 2s, 2s+1)
        assertEquals(List.of("baseline", "steer nudity@-4", "steer nudity@-8", "images/000000.png", "images/000002.png", "images/000004.png",
            "images/000001.png", "images/000003.png", "images/000005.png"), order);
    }

    private static boolean near(int a, int b) {
        for (int shift = 0; shift <= 16; shift += 8)
            if (Math.abs(((a >> shift) & 0xff) - ((b >> shift) & 0xff)) > 12) return false;
        return true;
    }

    private static int count(String s, String what) {
        Matcher m = Pattern.compile(Pattern.quote(what)).matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    /** Runs headless chromium on {@code url}; returns its stdout. */
    private static String runChromium(Path chromium, Path tmp, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--user-data-dir=" + Files.createTempDirectory(tmp, "chromium-profile")));
        cmd.addAll(List.of(args));
        Path stdout = Files.createTempFile(tmp, "chromium", ".out"), stderr = Files.createTempFile(tmp, "chromium", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("chromium did not finish in 120 s: " + Files.readString(stderr));
        }
        assertEquals(0, p.exitValue(), "chromium failed: " + Files.readString(stderr));
        return Files.readString(stdout);
    }
}
