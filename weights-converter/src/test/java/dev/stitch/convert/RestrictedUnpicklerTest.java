package dev.stitch.convert;

import dev.stitch.convert.RestrictedUnpickler.Tuple;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RestrictedUnpicklerTest {
    /** Python's own {@code pickle.dumps(OBJ, protocol=2)} and {@code protocol=4} of the dict below (CPython 3.11). */
    // OBJ = {'a': [1, 2.5, True, None, 'x'], 'b': (1, 2, 3), 'c': 300, 'd': 70000, 'e': -5, 'big': 2**40, 'neg': -2**40,
    //        't4': (1, 2, 3, 4), 'u': 'é', 'f': False, 'empty': (), 'bytes': b'\x00\xff'}
    static final String P2 = "80027d71002858010000006171015d7102284b01474004000000000000884e58010000007871036558010000006271044b014b024b038771"
        + "0558010000006371064d2c0158010000006471074a7011010058010000006571084afbffffff580300000062696771098a06000000000001580300"
        + "00006e6567710a8a060000000000ff58020000007434710b284b014b024b034b0474710c580100000075710d5802000000c3a9710e5801000000"
        + "66710f895805000000656d707479711029580500000062797465737111635f636f646563730a656e636f64650a7112580300000000c3bf711358"
        + "060000006c6174696e317114867115527116752e";
    static final String P4 = "80049593000000000000007d94288c0161945d94284b01474004000000000000884e8c017894658c0162944b014b024b0387948c01639"
        + "44d2c018c0164944a701101008c0165944afbffffff8c03626967948a060000000000018c036e6567948a060000000000ff8c02743494284b014b"
        + "024b034b0474948c0175948c02c3a9948c016694898c05656d70747994298c05627974657394430200ff94752e";

    private static Object load(byte[] b) {
        return RestrictedUnpickler.load("test.pkl", b, pid -> { throw new AssertionError("no persistent ids here"); });
    }

    @Test
    void readsWhatPythonWritesInProtocols2And4() {
        for (String hex : List.of(P2, P4)) {
            Map<?, ?> m = (Map<?, ?>) load(HexFormat.of().parseHex(hex));
            assertEquals(Arrays.asList(1L, 2.5, true, null, "x"), m.get("a"));
            assertEquals(List.of(1L, 2L, 3L), ((Tuple) m.get("b")).items());
            assertEquals(300L, m.get("c"));
            assertEquals(70000L, m.get("d"));
            assertEquals(-5L, m.get("e"));
            assertEquals(1L << 40, m.get("big"));
            assertEquals(-(1L << 40), m.get("neg"));
            assertEquals(List.of(1L, 2L, 3L, 4L), ((Tuple) m.get("t4")).items());
            assertEquals("é", m.get("u"));
            assertEquals(false, m.get("f"));
            assertEquals(List.of(), ((Tuple) m.get("empty")).items());
            assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) m.get("bytes"), "protocol 2 stores bytes as _codecs.encode(s, 'latin1')");
            assertEquals(List.of("a", "b", "c", "d", "e", "big", "neg", "t4", "u", "f", "empty", "bytes"), List.copyOf(m.keySet().stream().map(String.class::cast).toList()));
        }
    }

    /** {@code os.system('touch <marker>')}, hand-assembled: GLOBAL, argument tuple, REDUCE. */
    private static byte[] systemCall(String module, String name, Path marker) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        b.writeBytes(("c" + module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        byte[] arg = ("touch " + marker).getBytes(StandardCharsets.UTF_8);
        b.write('X');
        b.writeBytes(new byte[] {(byte) arg.length, 0, 0, 0});
        b.writeBytes(arg);
        b.write(0x85);   // TUPLE1
        b.write('R');    // REDUCE
        b.write('.');
        return b.toByteArray();
    }

    @Test
    void refusesOsSystemByNameAndRunsNothing(@TempDir Path dir) {
        Path marker = dir.resolve("pwned");
        for (String[] g : new String[][] {{"os", "system"}, {"posix", "system"}, {"subprocess", "call"}, {"builtins", "eval"}}) {
            UserError e = assertThrows(UserError.class, () -> load(systemCall(g[0], g[1], marker)));
            assertTrue(e.getMessage().contains("'" + g[0] + "." + g[1] + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("nothing was executed"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        assertFalse(Files.exists(marker));
    }

    @Test
    void refusesForbiddenGlobalsReachedThroughStackGlobal() {
        // protocol 4: SHORT_BINUNICODE 'builtins', SHORT_BINUNICODE 'exec', STACK_GLOBAL
        byte[] b = {(byte) 0x80, 4, (byte) 0x8c, 8, 'b', 'u', 'i', 'l', 't', 'i', 'n', 's', (byte) 0x8c, 4, 'e', 'x', 'e', 'c', (byte) 0x93, '.'};
        UserError e = assertThrows(UserError.class, () -> load(b));
        assertTrue(e.getMessage().contains("builtins.exec"), e.getMessage());
    }

    @Test
    void allowedGlobalsAreOnlyTheStateDictOnes() {
        assertTrue(RestrictedUnpickler.allowed("collections", "OrderedDict"));
        assertTrue(RestrictedUnpickler.allowed("torch._utils", "_rebuild_tensor_v2"));
        assertTrue(RestrictedUnpickler.allowed("torch", "HalfStorage"));
        assertTrue(RestrictedUnpickler.allowed("torch", "bfloat16"));
        assertFalse(RestrictedUnpickler.allowed("torch", "load"));
        assertFalse(RestrictedUnpickler.allowed("torch._utils", "_rebuild_tensor"));
        assertFalse(RestrictedUnpickler.allowed("collections", "defaultdict"));
        assertFalse(RestrictedUnpickler.allowed("numpy.core.multiarray", "_reconstruct"));
    }

    @Test
    void storageTypesAreNotCallable() {
        byte[] b = "\u0080\u0002ctorch\nFloatStorage\n)R.".getBytes(StandardCharsets.ISO_8859_1);
        UserError e = assertThrows(UserError.class, () -> load(b));
        assertTrue(e.getMessage().contains("not callable"), e.getMessage());
    }

    @Test
    void unknownOpcodesAndTruncationAreErrors() {
        // 'I' (protocol-0 INT as text) is not used by torch.save
        UserError op = assertThrows(UserError.class, () -> load("\u0080\u0002I1\n.".getBytes(StandardCharsets.ISO_8859_1)));
        assertTrue(op.getMessage().contains("opcode 0x49"), op.getMessage());
        byte[] full = HexFormat.of().parseHex(P2);
        UserError cut = assertThrows(UserError.class, () -> load(Arrays.copyOf(full, full.length / 2)));
        assertTrue(cut.getMessage().contains("truncated"), cut.getMessage());
        assertThrows(UserError.class, () -> load(new byte[] {(byte) 0x80, 2, 'N', 'N', '.'}), "two values left on the stack");
    }

    @Test
    void longIntegersBeyond64BitsStayExact() {
        // LONG1 with 9 bytes: 2**64 + 5
        byte[] b = {(byte) 0x80, 2, (byte) 0x8a, 9, 5, 0, 0, 0, 0, 0, 0, 0, 1, '.'};
        assertEquals(BigInteger.ONE.shiftLeft(64).add(BigInteger.valueOf(5)), load(b));
    }
}
