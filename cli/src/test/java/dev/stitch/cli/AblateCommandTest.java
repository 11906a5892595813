package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.steering.SteeringFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** {@code stitch ablate} as a user runs it: a baked folder for taps that can be baked, one line and exit 2 otherwise. */
class AblateCommandTest {
    @Test
    void bakesTheChosenTapsAndRefusesTheOthers(@TempDir Path dir) {
        Path model = TinyModel.get();
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        TapCatalog catalog = pipe.tapCatalog(pipe.defaultSize(), pipe.defaultSize());
        Random r = new Random(3);
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        for (String t : new String[] {"unet.conv_in", "unet.mid_block"}) {
            float[] v = new float[catalog.entry(t).channels()];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            taps.put(t, new SteeringFile.TapVector(t, new float[][] {v}, null));
        }
        Path steer = dir.resolve("dir.safetensors");
        new SteeringFile(new LinkedHashMap<>(), taps).write(steer);

        CliRunner.Result refused = CliRunner.run("ablate", "--model", model.toString(), "--steer", steer.toString(), "--out", dir.resolve("all").toString());
        assertEquals(2, refused.code(), refused.err());
        assertEquals("stitch: tap 'unet.mid_block' cannot be baked exactly: its value is not the output of a Linear, convolution or embedding"
            + " (a residual or a norm comes after it); this steering file's taps that can: unet.conv_in\n", refused.err());
        assertFalse(Files.exists(dir.resolve("all")));

        CliRunner.Result ok = CliRunner.run("ablate", "--model", model.toString(), "--steer", steer.toString(), "--taps", "unet.conv_in", "--out", dir.resolve("baked").toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.err().contains("unet: 2 tensor(s) orthogonalised"), ok.err());
        assertNotNull(StableDiffusionPipeline.load(dir.resolve("baked")));

        CliRunner.Result again = CliRunner.run("ablate", "--model", model.toString(), "--steer", steer.toString(), "--taps", "unet.conv_in", "--out", dir.resolve("baked").toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already exists"), again.err());
        CliRunner.Result nan = CliRunner.run("ablate", "--model", model.toString(), "--steer", steer.toString(), "--strength", "NaN", "--out", dir.resolve("x").toString());
        assertEquals(2, nan.code());
        assertEquals("stitch: --strength must be a finite number\n", nan.err());
    }
}
