package dev.stitch.kernels.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Without a GPU: the kernels jar holds, for every .cu module, machine code for sm_80 and sm_90 (ELF cubins whose
 * header names that architecture) and compute_80 PTX, and each holds every entry point the backend launches; the
 * PTX parameter lists match {@link Kernel}'s letters. Skipped when the build had no nvcc.
 */
class CudaKernelImagesTest {
    @BeforeAll
    static void built() {
        boolean required = "required".equals(System.getProperty("stitch.gpu"));
        if (!KernelImages.built() && required) fail("the kernels were built without nvcc, and -Dstitch.gpu=required");
        Assumptions.assumeTrue(KernelImages.built(), "the kernels were built without nvcc: no CUDA kernel images to check");
    }

    private static Map<String, List<Kernel>> byModule() {
        Map<String, List<Kernel>> m = new HashMap<>();
        for (Kernel k : Kernel.values()) m.computeIfAbsent(k.module, x -> new ArrayList<>()).add(k);
        return m;
    }

    @Test
    void cubinsForSm80AndSm90HoldEveryEntryPoint() {
        for (var e : byModule().entrySet())
            for (String image : List.of(KernelImages.SM80, KernelImages.SM90)) {
                byte[] elf = KernelImages.read(e.getKey(), image);
                String what = e.getKey() + "." + image;
                ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(0x464c457f, b.getInt(0), what + ": not an ELF file");
                assertEquals(190, b.getShort(0x12), what + ": not CUDA machine code (e_machine)");
                int arch = (b.getInt(0x30) >> 8) & 0xff;
                assertEquals(image.equals(KernelImages.SM80) ? 80 : 90, arch, what + ": architecture in e_flags");
                Set<String> functions = functionSymbols(b);
                for (Kernel k : e.getValue()) assertTrue(functions.contains(k.entry), what + " lacks " + k.entry + "; has " + functions);
            }
    }

    /** Names of the global FUNC symbols of an ELF64 file. */
    private static Set<String> functionSymbols(ByteBuffer b) {
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3A) & 0xffff, shnum = b.getShort(0x3C) & 0xffff;
        Set<String> names = new HashSet<>();
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != 2) continue;   // SHT_SYMTAB
            long off = b.getLong(sh + 0x18), size = b.getLong(sh + 0x20), entsize = b.getLong(sh + 0x38);
            int link = b.getInt(sh + 0x28);
            int strSh = Math.toIntExact(shoff + (long) link * shentsize);
            long strOff = b.getLong(strSh + 0x18);
            for (long s = off; s < off + size; s += entsize) {
                int info = b.get(Math.toIntExact(s + 4)) & 0xff;
                if ((info & 0xf) != 2 || (info >> 4) != 1) continue;   // STT_FUNC, STB_GLOBAL
                int name = Math.toIntExact(strOff + b.getInt(Math.toIntExact(s)));
                int end = name;
                while (b.get(end) != 0) end++;
                names.add(new String(b.array(), name, end - name, StandardCharsets.US_ASCII));
            }
        }
        return names;
    }

    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+) ");

    @Test
    void ptxHoldsEveryEntryPointWithTheDeclaredParameters() {
        for (var e : byModule().entrySet()) {
            String ptx = new String(KernelImages.read(e.getKey(), KernelImages.PTX), StandardCharsets.US_ASCII);
            assertTrue(ptx.contains(".target sm_80"), e.getKey() + ".ptx: not compute_80");
            Map<String, String> params = new HashMap<>();
            Matcher m = ENTRY.matcher(ptx);
            while (m.find()) {
                StringBuilder letters = new StringBuilder();
                Matcher p = PARAM.matcher(m.group(2));
                while (p.find()) letters.append(switch (p.group(1)) {
                    case "u64", "s64", "b64" -> '8';
                    case "u32", "s32", "b32" -> 'i';
                    case "f32" -> 'f';
                    default -> '?';
                });
                params.put(m.group(1), letters.toString());
            }
            for (Kernel k : e.getValue()) {
                assertTrue(params.containsKey(k.entry), e.getKey() + ".ptx lacks " + k.entry);
                String declared = k.params.replace('p', '8').replace('l', '8');
                assertEquals(declared, params.get(k.entry), k.entry + ": parameters in PTX vs Kernel." + k.name());
            }
        }
    }

    @Test
    void imageChoiceFollowsComputeCapability() {
        assertEquals(KernelImages.SM80, KernelImages.imageFor(8, 0));
        assertEquals(KernelImages.SM80, KernelImages.imageFor(8, 9));
        assertEquals(KernelImages.SM90, KernelImages.imageFor(9, 0));
        assertEquals(KernelImages.PTX, KernelImages.imageFor(10, 0));
        assertEquals(KernelImages.PTX, KernelImages.imageFor(12, 0));
    }
}
