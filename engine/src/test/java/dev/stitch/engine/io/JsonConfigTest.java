package dev.stitch.engine.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JsonConfigTest {
    private static JsonConfig config(String json) throws Exception {
        return new JsonConfig("cfg.json", new ObjectMapper().readTree(json));
    }

    @Test
    void presentKeysAreReadAndAbsentOrNullKeysTakeTheDefault() throws Exception {
        JsonConfig c = config("""
            {"n": 7, "x": 0.25, "b": false, "s": "gelu", "l": ["a", "b"], "i": [1, 2], "f": [0.5, 1, 2], "gone": null,
             "sub": {"k": 3}}""");
        assertEquals(7, c.integer("n", 1));
        assertEquals(7, c.positive("n", 1));
        assertEquals(0.25, c.number("x", 1));
        assertFalse(c.bool("b", true));
        assertEquals("gelu", c.string("s", "x"));
        assertEquals(List.of("a", "b"), c.strings("l", List.of()));
        assertArrayEquals(new int[] {1, 2}, c.integers("i", null));
        assertArrayEquals(new float[] {0.5f, 1, 2}, c.numbers("f", 3, null));
        assertEquals(9, c.integer("gone", 9), "null counts as absent, as in from_pretrained");
        assertEquals(5, c.positive("missing", 5));
        assertEquals(3, c.object("sub").integer("k", 0));
        assertEquals(4, c.object("nosub").integer("k", 4));
        assertEquals(1e-5f, c.epsilon("eps", 1e-5));
    }

    @Test
    void aWrongTypeNamesTheFileTheKeyAndTheValue() throws Exception {
        JsonConfig c = config("{\"n\": \"seven\", \"z\": 0, \"eps\": 2, \"f\": [1, 2], \"sub\": 3, \"l\": [1]}");
        assertEquals("cfg.json: n must be an integer, got \"seven\"", assertThrows(UserError.class, () -> c.integer("n", 1)).getMessage());
        assertEquals("cfg.json: z must be a positive integer, got 0", assertThrows(UserError.class, () -> c.positive("z", 1)).getMessage());
        assertEquals("cfg.json: eps must be a small positive number, got 2", assertThrows(UserError.class, () -> c.epsilon("eps", 1e-5)).getMessage());
        assertTrue(assertThrows(UserError.class, () -> c.numbers("f", 3, null)).getMessage().contains("f must be a list of 3 numbers"));
        assertTrue(assertThrows(UserError.class, () -> c.object("sub")).getMessage().contains("sub must be an object"));
        assertTrue(assertThrows(UserError.class, () -> c.strings("l", null)).getMessage().contains("l must be a list of strings"));
        assertTrue(assertThrows(UserError.class, () -> c.bool("n", true)).getMessage().contains("n must be true or false"));
    }

    @Test
    void readNamesAMissingOrBrokenFile(@TempDir Path dir) throws Exception {
        assertEquals(dir.resolve("none.json") + ": no such file",
            assertThrows(UserError.class, () -> JsonConfig.read(dir.resolve("none.json"))).getMessage());
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"a\": ");
        assertTrue(assertThrows(UserError.class, () -> JsonConfig.read(bad)).getMessage().startsWith(bad + ": not valid JSON"));
        Path ok = Files.writeString(dir.resolve("ok.json"), "{\"a\": 2}");
        assertEquals(2, JsonConfig.read(ok).positive("a", 1));
    }

    @Test
    void deeplyNestedJsonIsOneLineNotAStackOverflow(@TempDir Path dir) throws Exception {
        Path deep = Files.writeString(dir.resolve("config.json"), "{\"a\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}");
        UserError e = assertThrows(UserError.class, () -> JsonConfig.read(deep));
        assertTrue(e.getMessage().startsWith(deep + ": not valid JSON") && e.getMessage().contains("nesting depth"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        UserError u = assertThrows(UserError.class, () -> dev.stitch.engine.unet.UNetConfig.load(deep));
        assertTrue(u.getMessage().startsWith(deep + ": not valid JSON"), u.getMessage());
    }
}
