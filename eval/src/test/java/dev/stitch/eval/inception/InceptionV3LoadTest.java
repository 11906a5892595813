package dev.stitch.eval.inception;

import dev.stitch.convert.StoredTensor;
import dev.stitch.convert.TorchZipWriter;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.eval.Golden;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InceptionV3LoadTest {
    @TempDir Path tmp;

    Path copy(Predicate<String> keep, String extra) {
        SafeTensors st = SafeTensors.open(Golden.resource("inception/tiny_fid_inception.safetensors"));
        SafeTensorsWriter out = new SafeTensorsWriter();
        for (String n : st.names()) if (keep.test(n)) out.add(n, st.entry(n).dtype(), st.entry(n).shape(), st.bytes(n));
        if (extra != null) out.addF32(extra, new float[]{1, 2}, 2);
        Path file = tmp.resolve("inception.safetensors");
        out.write(file);
        return file;
    }

    static String message(Path file) { return assertThrows(UserError.class, () -> InceptionV3.load(file)).getMessage(); }

    @Test
    void theClassifierAndBatchNormCountersAreIgnored() {
        SafeTensors st = SafeTensors.open(Golden.resource("inception/tiny_fid_inception.safetensors"));
        assertTrue(st.contains("fc.weight") && st.contains("Mixed_5b.branch1x1.bn.num_batches_tracked"));
        assertEquals(128, InceptionV3.load(copy(n -> !n.startsWith("fc."), null)).features);
    }

    @Test
    void theTorchZipStateDictLoadsAsTheSafetensorsDoes() {
        SafeTensors st = SafeTensors.open(Golden.resource("inception/tiny_fid_inception.safetensors"));
        TorchZipWriter zip = new TorchZipWriter();
        for (String n : st.names()) zip.add(StoredTensor.of(n, st.entry(n).dtype(), st.entry(n).shape(), st.bytes(n)));
        Path pth = tmp.resolve("pt_inception-tiny.pth");
        zip.write(pth);
        SafeTensors g = Golden.open("inception/fid_inception_golden.safetensors");
        Ctx c = new Ctx(ReferenceBackend.INSTANCE);
        Golden.assertClose("fid inception from .pth", g.tensor("pool_features").data(),
            Golden.flat(InceptionV3.load(pth).poolFeatures(c, g.tensor("images"))), Golden.TOLERANCE);
    }

    @Test
    void wrongFilesAreNamed() throws IOException {
        assertTrue(message(tmp.resolve("none.safetensors")).contains("no such file"));
        Path legacy = Files.write(tmp.resolve("pt_inception.pth"), new byte[]{(byte) 0x80, 2, (byte) 0x8a, 0x0a, 0, 0, 0, 0, 0, 0});
        assertTrue(message(legacy).contains("legacy PyTorch format"), message(legacy));
        Path other = Files.writeString(tmp.resolve("weights.bin"), "hello, not weights");
        assertTrue(message(other).contains("not a checkpoint"), message(other));
    }

    @Test
    void missingOrForeignTensorsAreNamed() {
        String m = message(copy(n -> !n.startsWith("Conv2d_1a_3x3.conv"), null));
        assertTrue(m.contains("missing tensor 'Conv2d_1a_3x3.conv.weight'"), m);
        m = message(copy(n -> !n.equals("Mixed_6c.branch7x7dbl_3.bn.running_var"), null));
        assertTrue(m.contains("missing tensor 'Mixed_6c.branch7x7dbl_3.bn.running_var'"), m);
        m = message(copy(n -> true, "AuxLogits.fc.bias"));
        assertTrue(m.contains("AuxLogits.fc.bias") && m.contains("does not have"), m);
    }
}
