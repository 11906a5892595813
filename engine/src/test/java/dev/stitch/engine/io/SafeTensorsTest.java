package dev.stitch.engine.io;

import dev.stitch.kernels.DType;
import dev.stitch.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir Path dir;

    private static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void roundTripsEveryDtypeWithMetadata() {
        Random r = new Random(7);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("method", "mean-diff").metadata("note", "ünïcödé ✓");
        long[][] shapes = {{3, 5}, {7}, {2, 1, 3}, {}, {0, 4}};
        int i = 0;
        for (SafeDType dt : SafeDType.values()) {
            long[] shape = shapes[i++ % shapes.length];
            long n = 1;
            for (long d : shape) n *= d;
            w.add("t." + dt, dt, shape, MemorySegment.ofArray(randomBytes(r, (int) (n * dt.bytes))));
        }
        Path f = dir.resolve("all.safetensors");
        w.write(f);
        SafeTensors st = SafeTensors.open(f);
        assertEquals("mean-diff", st.metadata().get("method"));
        assertEquals("ünïcödé ✓", st.metadata().get("note"));
        Random r2 = new Random(7);
        i = 0;
        for (SafeDType dt : SafeDType.values()) {
            long[] shape = shapes[i++ % shapes.length];
            long n = 1;
            for (long d : shape) n *= d;
            byte[] expected = randomBytes(r2, (int) (n * dt.bytes));
            var e = st.entry("t." + dt);
            assertEquals(dt, e.dtype());
            assertArrayEquals(shape, e.shape());
            assertArrayEquals(expected, st.bytes("t." + dt).toArray(ValueLayout.JAVA_BYTE), dt.name());
        }
        // header is padded to 8 bytes so data starts aligned
        assertEquals(0, (8 + headerLength(f)) % 8);
    }

    @Test
    void floatTensorsReadBackExactlyInEveryFloatType() {
        Random r = new Random(3);
        float[] v = new float[37];
        for (int k = 0; k < v.length; k++) v[k] = (float) r.nextGaussian() * 3;
        Tensor t = Tensor.of(v, 37);
        Path f = dir.resolve("f.safetensors");
        new SafeTensorsWriter().add("f32", t, DType.F32).add("f16", t, DType.F16).add("bf16", t, DType.BF16)
            .addI64("ids", new long[] {49406, 0, -3}, 3).write(f);
        SafeTensors st = SafeTensors.open(f);
        assertArrayEquals(v, st.tensor("f32").data());
        float[] h = st.tensor("f16").data(), b = st.tensor("bf16").data();
        for (int k = 0; k < v.length; k++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[k])), h[k]);
            assertEquals(v[k], b[k], Math.abs(v[k]) / 128);
            assertEquals(DType.F16, st.tensor("f16").dtype());
        }
        assertArrayEquals(new long[] {49406, 0, -3}, st.longs("ids"));
        assertThrows(SafeTensorsException.class, () -> st.tensor("ids"));
        assertThrows(SafeTensorsException.class, () -> st.longs("f32"));
    }

    @Test
    void unloadedPagesReadBackTheSameValues() {
        Random r = new Random(5);
        float[] v = new float[3000];   // several pages
        for (int k = 0; k < v.length; k++) v[k] = (float) r.nextGaussian();
        Path f = dir.resolve("u.safetensors");
        new SafeTensorsWriter().add("w", Tensor.of(v, 3000), DType.F32).add("h", Tensor.of(v, 3000), DType.F16).write(f);
        SafeTensors st = SafeTensors.open(f);
        Tensor w = st.tensor("w"), h = st.tensor("h");
        float[] before = new float[3000], after = new float[3000], half = new float[3000];
        w.read(0, before, 0, 3000);
        st.unloadPages();
        w.read(0, after, 0, 3000);
        h.read(0, half, 0, 3000);
        assertArrayEquals(v, before);
        assertArrayEquals(v, after);
        for (int k = 0; k < v.length; k++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[k])), half[k]);
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, DType.f32ToBf16(1.0f));
        // 1 + 2^-8 is exactly half-way between two bf16 values: ties to even (1.0)
        assertEquals((short) 0x3f80, DType.f32ToBf16(Float.intBitsToFloat(0x3f808000)));
        assertEquals((short) 0x3f82, DType.f32ToBf16(Float.intBitsToFloat(0x3f818000)));
        assertTrue(Float.isNaN(DType.bf16ToF32(DType.f32ToBf16(Float.NaN))));
    }

    // ---- malformed files: each a one-line SafeTensorsException naming the file (and the tensor) ----

    private static long headerLength(Path f) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static String fails(Path f) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void tooShort() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertTrue(fails(f).contains("too short"));
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        Path f = dir.resolve("len.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}".getBytes());
        Files.write(f, b.array());
        assertTrue(fails(f).contains("past the end"));
    }

    @Test
    void headerNotJson() throws IOException {
        assertTrue(fails(file("{\"a\": [1, 2", 0)).contains("not valid JSON"));
        assertTrue(fails(file("[1, 2, 3]", 0)).contains("not a JSON object"));
    }

    @Test
    void unknownAndF8Dtypes() throws IOException {
        String m = fails(file("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        assertTrue(m.contains("'w'") && m.contains("unknown dtype 'Q4'"), m);
        m = fails(file("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        assertTrue(m.contains("8-bit float"), m);
    }

    @Test
    void offsetsOutOfBoundsOrMismatched() throws IOException {
        String m = fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8));
        assertTrue(m.contains("'w'") && m.contains("truncated"), m);
        m = fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16));
        assertTrue(m.contains("needs 16"), m);
        m = fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16));
        assertTrue(m.contains("not ordered"), m);
        m = fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 16));
        assertTrue(m.contains("non-negative"), m);
        m = fails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 16));
        assertTrue(m.contains("data_offsets"), m);
    }

    @Test
    void overlappingTensors() throws IOException {
        String m = fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        assertTrue(m.contains("overlaps"), m);
    }

    @Test
    void duplicateNames() throws IOException {
        String m = fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
        assertTrue(m.toLowerCase().contains("duplicate"), m);
    }

    @Test
    void badMetadata() throws IOException {
        assertTrue(fails(file("{\"__metadata__\":{\"k\":3}}", 0)).contains("not a string"));
        assertTrue(fails(file("{\"__metadata__\":[1]}", 0)).contains("__metadata__"));
    }

    @Test
    void truncatedCopyOfARealFile() throws IOException {
        Path f = dir.resolve("ok.safetensors");
        new SafeTensorsWriter().addF32("x", new float[] {1, 2, 3, 4, 5, 6}, 2, 3).write(f);
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 5));
        String m = fails(cut);
        assertTrue(m.contains("'x'") && m.contains("truncated"), m);
    }

    @Test
    void missingFileIsOneLine() {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(dir.resolve("nope.safetensors")));
        assertTrue(e.getMessage().contains("no such file"));
    }

    /** Random mutations of a valid file: the reader throws only its own error and never reads out of bounds. */
    @Test
    void fuzzedFilesFailCleanly() throws IOException {
        Path f = dir.resolve("seed.safetensors");
        new SafeTensorsWriter().metadata("k", "v").addF32("a", new float[] {1, 2, 3}, 3)
            .addI64("b", new long[] {4, 5}, 2).add("c", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), DType.F16).write(f);
        byte[] base = Files.readAllBytes(f);
        long seed = System.nanoTime();
        Random r = new Random(seed);
        int parsed = 0, rejected = 0;
        for (int iter = 0; iter < 3000; iter++) {
            byte[] b = base.clone();
            int kind = r.nextInt(4);
            if (kind == 0) for (int k = 0, n = 1 + r.nextInt(4); k < n; k++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            else if (kind == 1) b = Arrays.copyOf(b, r.nextInt(b.length));
            else if (kind == 2) { // digits in the header are the interesting bytes
                int hl = (int) Math.min(headerLengthOf(base), b.length - 8);
                int p = 8 + r.nextInt(hl);
                b[p] = (byte) "0123456789-[]{},:\"e".charAt(r.nextInt(19));
            } else b[r.nextInt(8)] = (byte) r.nextInt(256);
            Path m = dir.resolve("fuzz.safetensors");
            Files.write(m, b);
            try {
                SafeTensors st = SafeTensors.open(m);
                for (String n : st.names()) {
                    var e = st.entry(n);
                    st.bytes(n);
                    if (e.dtype().isFloat()) st.floats(n); else st.longs(n);
                }
                parsed++;
            } catch (SafeTensorsException e) {
                assertFalse(e.getMessage().contains("\n"), "seed " + seed + ": " + e.getMessage());
                rejected++;
            } catch (RuntimeException e) {
                fail("seed " + seed + " iteration " + iter + ": reader threw " + e, e);
            }
        }
        assertTrue(rejected > 100 && parsed > 10, "fuzzing exercised both paths: parsed " + parsed + ", rejected " + rejected);
    }

    private static long headerLengthOf(byte[] b) { return ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(); }

    @Test
    void anAxisLongerThanAnIntIsRefusedEvenWithNoElements(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        byte[] h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,3000000000],\"data_offsets\":[0,0]}}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.write(dir.resolve("wide.safetensors"), b.array());
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(f));
        assertEquals(f + ": tensor 'x': shape [0,3000000000] has an axis longer than 2147483647", e.getMessage());
    }
}
