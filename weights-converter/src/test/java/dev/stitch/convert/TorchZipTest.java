package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class TorchZipTest {
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A float tensor's values widened to f32. */
    static float[] floats(StoredTensor t) {
        MemorySegment out = MemorySegment.ofArray(new float[(int) t.numel()]);
        DTypeConversion.convert(t.bytes(), t.dtype(), 0, out, SafeDType.F32, 0, t.numel());
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    static Path resource(String name) {
        try {
            return Path.of(TorchZipTest.class.getResource("/torch/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void expect(Checkpoint ck, String name, SafeDType dtype, long[] shape, float[] values) {
        StoredTensor t = ck.get(name);
        assertEquals(dtype, t.dtype(), name);
        assertArrayEquals(shape, t.shape(), name);
        assertArrayEquals(values, floats(t), name);
    }

    private static float[] f(int n, java.util.function.IntToDoubleFunction fn) {
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (float) fn.applyAsDouble(i);
        return r;
    }

    /** Fixtures written by PyTorch itself (make_fixtures.py): views, offsets, every storage type, both protocols. */
    @Test
    void readsWhatTorchSaveWrites() {
        for (String file : List.of("lightning_p2.ckpt", "state_dict_p4.pt")) {
            Checkpoint ck = Checkpoint.open(resource(file));
            assertEquals(Checkpoint.Format.TORCH_ZIP, ck.format());
            assertEquals(List.of("weight", "bias", "f32", "f16", "f16_t", "offset_view", "strided", "bf16", "f64", "i64", "i32", "u8",
                "bool", "scalar", "empty", "param"), List.copyOf(ck.tensors().keySet()), file);
            expect(ck, "weight", SafeDType.F32, new long[] {2, 3}, f(6, i -> i / 8.0));
            expect(ck, "bias", SafeDType.F32, new long[] {2}, new float[] {-1, 2});
            expect(ck, "f32", SafeDType.F32, new long[] {3, 4}, f(12, i -> i * 0.5 - 1));
            expect(ck, "f16", SafeDType.F16, new long[] {3, 4}, f(12, i -> i * 0.5 - 1));
            expect(ck, "f16_t", SafeDType.F16, new long[] {4, 3}, f(12, i -> ((i % 3) * 4 + i / 3) * 0.5 - 1));
            expect(ck, "offset_view", SafeDType.F32, new long[] {2, 2}, f(4, i -> ((1 + i / 2) * 4 + 1 + i % 2) * 0.5 - 1));
            expect(ck, "strided", SafeDType.F32, new long[] {5}, f(5, i -> 3 + 4 * i));
            expect(ck, "bf16", SafeDType.BF16, new long[] {3, 2}, f(6, i -> i - 2.5));
            expect(ck, "scalar", SafeDType.F32, new long[] {}, new float[] {3.5f});
            expect(ck, "empty", SafeDType.F32, new long[] {0, 4}, new float[0]);
            expect(ck, "param", SafeDType.F32, new long[] {2, 2}, f(4, i -> 0.25));
            MemorySegment d = ck.get("f64").bytes();
            for (int i = 0; i < 4; i++) assertEquals(i / 3.0, d.getAtIndex(F64, i), file);
            MemorySegment l = ck.get("i64").bytes();
            for (int i = 0; i < 5; i++) assertEquals(i * 1000000007L, l.getAtIndex(I64, i));
            assertEquals(SafeDType.I32, ck.get("i32").dtype());
            for (int i = 0; i < 4; i++) assertEquals(i - 2, ck.get("i32").bytes().getAtIndex(I32, i));
            assertArrayEquals(new byte[] {0, 60, 120, (byte) 180}, ck.get("u8").bytes().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new byte[] {1, 0, 1}, ck.get("bool").bytes().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    private static MemorySegment floatsLE(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
        for (int i = 0; i < v.length; i++) s.setAtIndex(F32, i, v[i]);
        return s;
    }

    @Test
    void writerRoundTripWithViewsOffsetsAndSharedStorage(@TempDir Path dir) {
        float[] base = f(24, i -> i * 1.5 - 7);
        TorchZipWriter w = new TorchZipWriter().lightningWrapper(true);
        int s = w.storage(SafeDType.F32, floatsLE(base));
        w.view("whole", s, 0, new long[] {4, 6}, new long[] {6, 1});
        w.view("transposed", s, 0, new long[] {6, 4}, new long[] {1, 6});
        w.view("block", s, 7, new long[] {2, 3}, new long[] {6, 1});           // offset 7, rows of a wider matrix
        w.view("every_third", s, 2, new long[] {7}, new long[] {3});
        w.view("row_broadcast", s, 0, new long[] {3, 6}, new long[] {0, 1});    // stride 0: the same row 3 times
        w.add(StoredTensor.of("i64", SafeDType.I64, new long[] {2}, MemorySegment.ofArray(new long[] {-3, 1L << 40})));
        Path file = dir.resolve("views.ckpt");
        w.write(file);

        Checkpoint ck = Checkpoint.open(file);
        assertArrayEquals(base, floats(ck.get("whole")));
        assertArrayEquals(f(24, i -> base[(i % 4) * 6 + i / 4]), floats(ck.get("transposed")));
        assertArrayEquals(f(6, i -> base[7 + (i / 3) * 6 + i % 3]), floats(ck.get("block")));
        assertArrayEquals(f(7, i -> base[2 + 3 * i]), floats(ck.get("every_third")));
        assertArrayEquals(f(18, i -> base[i % 6]), floats(ck.get("row_broadcast")));
        assertEquals(1L << 40, ck.get("i64").bytes().getAtIndex(I64, 1));
    }

    @Test
    void viewReachingPastItsStorageIsAnError(@TempDir Path dir) {
        TorchZipWriter w = new TorchZipWriter();
        int s = w.storage(SafeDType.F32, floatsLE(1, 2, 3, 4));
        w.view("bad", s, 2, new long[] {3}, new long[] {1});
        Path file = dir.resolve("bad.pt");
        w.write(file);
        UserError e = assertThrows(UserError.class, () -> Checkpoint.open(file));
        assertTrue(e.getMessage().contains("'bad'") && e.getMessage().contains("storage"), e.getMessage());
    }

    /** A zip whose records are given; {@code data.pkl} etc. are written stored, as torch does. */
    private static void zip(Path file, Map<String, byte[]> records) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            for (var r : records.entrySet()) {
                z.putNextEntry(new ZipEntry(r.getKey()));
                z.write(r.getValue());
                z.closeEntry();
            }
        }
    }

    @Test
    void bigEndianArchivesAreSwapped(@TempDir Path dir) throws IOException {
        TorchZipWriter w = new TorchZipWriter();
        w.add(StoredTensor.of("x", SafeDType.F32, new long[] {3}, floatsLE(1.5f, -2.25f, 1e-3f)));
        byte[] be = new byte[12];
        MemorySegment.ofArray(be).setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0, 1.5f);
        MemorySegment.ofArray(be).setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 1, -2.25f);
        MemorySegment.ofArray(be).setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, 1e-3f);
        Path file = dir.resolve("be.pt");
        zip(file, new java.util.LinkedHashMap<>(Map.of("archive/data.pkl", w.pickle(), "archive/byteorder", "big".getBytes(StandardCharsets.US_ASCII),
            "archive/data/0", be)));   // deflated records, as other tools may write them
        assertArrayEquals(new float[] {1.5f, -2.25f, 1e-3f}, floats(Checkpoint.open(file).get("x")));
    }

    @Test
    void aZipThatIsNotACheckpoint(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("photos.ckpt");
        zip(file, Map.of("hello.txt", "hi".getBytes(StandardCharsets.US_ASCII)));
        UserError e = assertThrows(UserError.class, () -> Checkpoint.open(file));
        assertTrue(e.getMessage().contains("without data.pkl") && e.getMessage().contains("hello.txt"), e.getMessage());
    }

    @Test
    void aPickleNamingOsSystemInsideAnArchiveIsRefused(@TempDir Path dir) throws IOException {
        byte[] evil = "\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000ls\u0085R.".getBytes(StandardCharsets.ISO_8859_1);
        Path file = dir.resolve("evil.ckpt");
        zip(file, Map.of("archive/data.pkl", evil));
        UserError e = assertThrows(UserError.class, () -> Checkpoint.open(file));
        assertTrue(e.getMessage().contains("'os.system'"), e.getMessage());
    }

    @Test
    void truncatedArchivesAndMissingStoragesAreErrors(@TempDir Path dir) throws IOException {
        Path full = dir.resolve("full.ckpt");
        TorchZipWriter w = new TorchZipWriter();
        w.add(StoredTensor.of("x", SafeDType.F32, new long[] {1000}, floatsLE(f(1000, i -> i))));
        w.write(full);
        byte[] all = Files.readAllBytes(full);
        Path cut = dir.resolve("cut.ckpt");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length * 2 / 3));
        UserError e = assertThrows(UserError.class, () -> Checkpoint.open(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        Path nodata = dir.resolve("nodata.ckpt");
        zip(nodata, Map.of("archive/data.pkl", w.pickle()));
        UserError m = assertThrows(UserError.class, () -> Checkpoint.open(nodata));
        assertTrue(m.getMessage().contains("archive/data/0") && m.getMessage().contains("missing"), m.getMessage());
    }

    @Test
    void legacyPicklesAndOtherFilesGetClearErrors(@TempDir Path dir) throws IOException {
        Path legacy = dir.resolve("old.pt");
        Files.write(legacy, new byte[] {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19, '.'});
        UserError l = assertThrows(UserError.class, () -> Checkpoint.open(legacy));
        assertTrue(l.getMessage().contains("unsupported legacy") && l.getMessage().contains("re-save"), l.getMessage());

        Path text = dir.resolve("notes.ckpt");
        Files.writeString(text, "these are not weights");
        UserError t = assertThrows(UserError.class, () -> Checkpoint.open(text));
        assertTrue(t.getMessage().contains("not a checkpoint"), t.getMessage());

        UserError missing = assertThrows(UserError.class, () -> Checkpoint.open(dir.resolve("absent.ckpt")));
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
    }
}
