package dev.stitch.steering;

import dev.stitch.engine.io.SafeTensors;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SteeringFileTest {
    @TempDir Path dir;

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void perStepRowsRoundTripAndMapStepsToRows() {
        Random r = new Random(11);
        float[][] rows = {random(r, 8), random(r, 8), random(r, 8)};
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        taps.put("unet.mid_block", new SteeringFile.TapVector("unet.mid_block", rows, null, new int[] {2, 5, 9}));
        taps.put("text_encoder.text_model.encoder.layers.1", new SteeringFile.TapVector("text_encoder.text_model.encoder.layers.1",
            new float[][] {random(r, 4)}, null));
        Map<String, LayerScore> scores = new LinkedHashMap<>();
        scores.put("unet.mid_block", new LayerScore(2.5, 0.25));
        Map<String, String> md = new LinkedHashMap<>();
        md.put(SteeringFile.METHOD, "mean-diff");
        md.put(SteeringFile.SCORES, SteeringFile.scoresJson(scores));
        Path f = dir.resolve("s.safetensors");
        new SteeringFile(md, taps).write(f);

        assertEquals("2,5,9", SafeTensors.open(f).metadata().get(SteeringFile.STEPS));
        SteeringFile back = SteeringFile.read(f);
        SteeringFile.TapVector v = back.taps().get("unet.mid_block");
        int[][] expect = {{-1, 0}, {0, 0}, {2, 0}, {4, 0}, {5, 1}, {8, 1}, {9, 2}, {49, 2}};
        for (int[] e : expect) assertArrayEquals(rows[e[1]], v.vector(e[0]), "step " + e[0]);
        assertArrayEquals(taps.get("text_encoder.text_model.encoder.layers.1").vectors()[0],
            back.taps().get("text_encoder.text_model.encoder.layers.1").vector(-1));
        LayerScore s = back.layerScores().get("unet.mid_block");
        assertEquals(2.75, s.score(), 1e-12);
    }

    @Test
    void transportsRoundTrip() {
        Random r = new Random(12);
        float[][] pos = new float[6][], neg = new float[6][];
        for (int i = 0; i < 6; i++) { pos[i] = random(r, 5); neg[i] = random(r, 5); }
        Transport t = Extraction.extract(Method.ACT_LINEAR, pos, neg).transport();
        Path f = dir.resolve("t.safetensors");
        new SteeringFile(Map.of(SteeringFile.METHOD, "act-linear"),
            Map.of("unet.mid_block", new SteeringFile.TapVector("unet.mid_block", null, new Transport[] {t}))).write(f);
        Transport back = SteeringFile.read(f).taps().get("unet.mid_block").transport(3);
        assertArrayEquals(t.omega(), back.omega());
        assertArrayEquals(t.beta(), back.beta());
        assertArrayEquals(t.lo(), back.lo());
        assertArrayEquals(t.hi(), back.hi());
        assertEquals(Operator.ACT, SteeringPlan.defaults(SteeringFile.read(f), null).operator());
    }

    @Test
    void modelIdentityIsTheFolderNameAndAConfigHash() throws IOException {
        Path m = dir.resolve("my-model");
        Files.createDirectories(m.resolve("unet"));
        Files.createDirectories(m.resolve("text_encoder"));
        Files.writeString(m.resolve("unet/config.json"), "{\"a\": 1}");
        Files.writeString(m.resolve("text_encoder/config.json"), "{\"b\": 2}");
        Map<String, String> id = SteeringFile.modelIdentity(m);
        assertEquals(List.of(SteeringFile.MODEL, SteeringFile.MODEL_SHA), List.copyOf(id.keySet()), "a fixed order");
        assertEquals("my-model", id.get(SteeringFile.MODEL));
        assertEquals(64, id.get(SteeringFile.MODEL_SHA).length());
        Files.writeString(m.resolve("unet/config.json"), "{\"a\": 2}");
        assertNotEquals(id.get(SteeringFile.MODEL_SHA), SteeringFile.modelIdentity(m).get(SteeringFile.MODEL_SHA));
        assertThrows(UserError.class, () -> SteeringFile.modelIdentity(dir.resolve("missing")));
        Path checkpoint = Files.writeString(dir.resolve("v2-1_512.safetensors"), "x");
        assertEquals(Map.of(SteeringFile.MODEL, "v2-1_512.safetensors"), SteeringFile.modelIdentity(checkpoint));
    }

    @Test
    void groupsFollowTheUNetBlocks() {
        assertEquals(LayerGroup.EARLY, LayerGroup.of("unet.conv_in"));
        assertEquals(LayerGroup.EARLY, LayerGroup.of("unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2"));
        assertEquals(LayerGroup.MIDDLE, LayerGroup.of("unet.mid_block"));
        assertEquals(LayerGroup.MIDDLE, LayerGroup.of("unet.mid_block.resnets.1"));
        assertEquals(LayerGroup.LATE, LayerGroup.of("unet.up_blocks.0.resnets.2"));
        assertEquals(LayerGroup.LATE, LayerGroup.of("unet.conv_out"));
        assertEquals(LayerGroup.TEXT, LayerGroup.of("text_encoder.text_model.encoder.layers.3"));
        assertEquals(LayerGroup.VAE, LayerGroup.of("vae.decoder.up_blocks.0"));
    }
}
