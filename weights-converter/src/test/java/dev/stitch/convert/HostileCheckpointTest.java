package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile checkpoints and configs: each fails with one line naming the file, never a StackOverflowError, an
 * arithmetic overflow or a crash further on.
 */
class HostileCheckpointTest {
    private static UserError refused(byte[] pickle) {
        return assertThrows(UserError.class, () -> RestrictedUnpickler.load("evil.pkl", pickle, pid -> {
            throw new UserError("evil.pkl: persistent id " + pid.size());
        }));
    }

    private static void oneLine(String message) {
        assertFalse(message.contains("\n"), message);
        assertTrue(message.length() < 300, message);
    }

    /** {@code {((((...),),),): 1}} nested {@code depth} deep: 3 KB of pickle. */
    private static byte[] deepTupleKey(int depth) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write('}');
        b.write(')');
        for (int i = 0; i < depth; i++) b.write(0x85);   // TUPLE1
        b.write('K');
        b.write(1);
        b.write('s');
        b.write('.');
        return b.toByteArray();
    }

    @Test
    void deeplyNestedTupleKeyIsRefusedNotAStackOverflow() {
        UserError e = refused(deepTupleKey(3000));
        assertTrue(e.getMessage().contains("nested more than " + RestrictedUnpickler.MAX_DEPTH + " levels"), e.getMessage());
        oneLine(e.getMessage());
        // a tuple key within the limit is fine, as Python allows it
        assertDoesNotThrow(() -> RestrictedUnpickler.load("ok.pkl", deepTupleKey(10), pid -> null));
    }

    @Test
    void selfReferencingListKeyIsRefused() {
        // l = []; l.append(l); {l: 1}: Python cannot hash a list, and Java's hashCode of this one never returns
        byte[] p = {'}', ']', 'q', 0, 'h', 0, 'a', 'K', 1, 's', '.'};
        UserError e = refused(p);
        assertTrue(e.getMessage().contains("dict key is a list"), e.getMessage());
        oneLine(e.getMessage());
    }

    @Test
    void deeplyNestedPersistentIdIsRefused() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(')');
        for (int i = 0; i < 5000; i++) b.write(0x85);
        b.write('Q');   // BINPERSID
        b.write('.');
        UserError e = refused(b.toByteArray());
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
    }

    @Test
    void strideThatOverflowsIsRefusedWithTheTensorName(@TempDir Path dir) {
        Path ckpt = dir.resolve("evil.ckpt");
        TorchZipWriter w = new TorchZipWriter();
        int s = w.storage(SafeDType.F32, MemorySegment.ofArray(new float[] {1, 2, 3, 4}));
        // (3 - 1) * 2^62 wraps to a small number: the bounds check must not be fooled by it
        w.view("model.diffusion_model.w", s, 0, new long[] {3, 1}, new long[] {1L << 62, 1}).write(ckpt);
        UserError e = assertThrows(UserError.class, () -> Checkpoint.open(ckpt));
        assertTrue(e.getMessage().contains("model.diffusion_model.w") && e.getMessage().contains("reaches past"), e.getMessage());
        oneLine(e.getMessage());
    }

    @Test
    void sixThousandLevelYamlIsRefused() {
        StringBuilder y = new StringBuilder();
        for (int i = 0; i < 6000; i++) y.append(" ".repeat(i)).append("k:\n");
        UserError e = assertThrows(UserError.class, () -> SimpleYaml.parse(Path.of("deep.yaml"), y.toString()));
        assertTrue(e.getMessage().startsWith("deep.yaml:") && e.getMessage().contains("nested more than"), e.getMessage());
        oneLine(e.getMessage());
    }

    @Test
    void invalidUtf8YamlSaysSo(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.write(f, new byte[] {'a', ':', ' ', (byte) 0xff, (byte) 0xfe, '\n'});
        UserError e = assertThrows(UserError.class, () -> SimpleYaml.read(f));
        assertEquals(f + ": not valid UTF-8 (expected a YAML text file)", e.getMessage());
        Files.writeString(f, "a: 1\n", StandardCharsets.UTF_8);
        assertEquals(1L, SimpleYaml.read(f).get("a"));
    }
}
