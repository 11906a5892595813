package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class TapsCommandTest {
    static List<String> names(String table) {
        List<String> lines = table.strip().lines().toList();
        assertTrue(lines.getFirst().matches("tap\\s+layout\\s+channels\\s+shape\\s+same tensor as"), lines.getFirst());
        assertEquals((lines.size() - 2) + " taps", lines.getLast());
        return lines.subList(1, lines.size() - 1).stream().map(l -> l.split("\\s+")[0]).toList();
    }

    static void assertRow(String out, String tap, String layout, int channels, String shape) {
        var row = Pattern.compile("(?m)^" + Pattern.quote(tap) + "\\s+" + layout + "\\s+" + channels + "\\s+" + Pattern.quote(shape) + "(\\s{2,}\\S.*)?$");
        assertTrue(row.matcher(out).find(), tap + " " + layout + " " + channels + " " + shape + " not in:\n" + out);
    }

    @Test
    void listsEveryTapInCallOrderWithLayoutAndShape() {
        var r = CliRunner.run("taps", "--model", TinyModel.get().toString());
        assertEquals(0, r.code(), r.err());
        var pipe = StableDiffusionPipeline.load(TinyModel.get());
        assertEquals(pipe.tapCatalog(64, 64).names(), names(r.out()), "the catalog at the model's default size, 64x64");
        assertRow(r.out(), "text_encoder.text_model.encoder.layers.0", "NLC", 32, "[1, 77, 32]");
        assertRow(r.out(), "unet.time_embedding", "NC", 128, "[1, 128]");
        assertRow(r.out(), "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2", "NLC", 32, "[1, 64, 32]");
        assertRow(r.out(), "unet.mid_block", "NCHW", 64, "[1, 64, 1, 1]");
        assertRow(r.out(), "vae.decoder.up_blocks.3", "NCHW", 32, "[1, 32, 64, 64]");
    }

    @Test
    void sizeAndPatternFlags() {
        var r = CliRunner.run("taps", "--model", TinyModel.get().toString(), "--width", "128", "--height", "64");
        assertEquals(0, r.code(), r.err());
        assertRow(r.out(), "unet.conv_in", "NCHW", 32, "[1, 32, 8, 16]");
        assertRow(r.out(), "unet.down_blocks.0.attentions.0.proj_in", "NLC", 32, "[1, 128, 32]");

        r = CliRunner.run("taps", "--model", TinyModel.get().toString(), "--taps", "unet.*.attn2,unet.mid_block");
        assertEquals(0, r.code(), r.err());
        List<String> n = names(r.out());
        assertEquals(17, n.size(), r.out());
        assertTrue(n.stream().filter(s -> !s.equals("unet.mid_block")).allMatch(s -> s.startsWith("unet.") && s.endsWith(".attn2")), r.out());
    }

    static void assertOneLineError(CliRunner.Result r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String f : fragments) assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
    }

    @Test
    void badInputIsOneLineAndExitCode2() {
        String model = TinyModel.get().toString();
        assertOneLineError(CliRunner.run("taps", "--model", model, "--taps", "unet.mid_blok"), "unknown tap 'unet.mid_blok'", "closest: unet.mid_block");
        assertOneLineError(CliRunner.run("taps", "--model", model, "--taps", "unet.*.attn3"), "matches no tap", "attn");
        assertOneLineError(CliRunner.run("taps", "--model", model, "--width", "60"), "--width 60");
        assertOneLineError(CliRunner.run("taps", "--model", model + "-missing"), "no such model folder");
        assertOneLineError(CliRunner.run("taps"), "--model");
    }
}
