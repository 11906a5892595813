package dev.stitch.steering;

import dev.stitch.kernels.ParameterError;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** NaN and infinities never reach a steered value: strengths, vectors, transports and metadata are refused by name. */
class NonFiniteTest {
    @TempDir Path dir;

    static SteeringFile file(float[] v) {
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        taps.put("unet.mid_block", new SteeringFile.TapVector("unet.mid_block", new float[][] {v}, null));
        return new SteeringFile(new LinkedHashMap<>(Map.of(SteeringFile.METHOD, "mean-diff")), taps);
    }

    @Test
    void nonFiniteStrengthsAreRefusedByParameter() {
        SteeringPlan plan = SteeringPlan.defaults(file(SteeringFileTest.random(new Random(1), 4)), 2f);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, (float) 1e39}) {
            ParameterError e = assertThrows(ParameterError.class, () -> plan.withStrength(bad));
            assertEquals("strength", e.parameter());
            e = assertThrows(ParameterError.class, () -> plan.withTapStrength("unet.mid_block", bad));
            assertTrue(e.parameter().contains("unet.mid_block"), e.getMessage());
            assertThrows(ParameterError.class, () -> SteeringPlan.defaults(plan.file(), bad));
        }
        assertThrows(ParameterError.class, () -> new Sweep(java.util.List.of(1f, Float.NaN), LayerSet.defaults(plan.file()), java.util.List.of(Operator.ADD)));
        assertEquals(3f, plan.withStrength(3f).strength());
    }

    @Test
    void nonFiniteVectorsAndMetadataInAFileAreRefusedByName() {
        Random r = new Random(2);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] v = SteeringFileTest.random(r, 6);
            v[3] = bad;
            Path f = dir.resolve("bad.safetensors");
            file(v).write(f);
            UserError e = assertThrows(UserError.class, () -> SteeringFile.read(f));
            assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains("'unet.mid_block'") && e.getMessage().contains("index 3"),
                e.getMessage());
        }
        for (String strength : new String[] {"NaN", "Infinity", "-Infinity", "1e39"}) {
            SteeringFile s = file(SteeringFileTest.random(r, 6));
            s.metadata().put(SteeringFile.STRENGTH, strength);
            Path f = dir.resolve("strength.safetensors");
            s.write(f);
            UserError e = assertThrows(UserError.class, () -> SteeringFile.read(f));
            assertTrue(e.getMessage().contains("'strength'") && e.getMessage().contains("not a finite number"), e.getMessage());
        }
        SteeringFile s = file(SteeringFileTest.random(r, 6));
        s.metadata().put(SteeringFile.SCORES, SteeringFile.scoresJson(Map.of("unet.mid_block", new LayerScore(Double.NaN, 0.5))));
        Path f = dir.resolve("scores.safetensors");
        s.write(f);
        UserError e = assertThrows(UserError.class, () -> SteeringFile.read(f));
        assertTrue(e.getMessage().contains("layer_scores") && e.getMessage().contains("unet.mid_block"), e.getMessage());
    }

    @Test
    void aTransportMayHaveAnInfiniteSupportButNoNaN() {
        Random r = new Random(3);
        float[][] pos = new float[5][], neg = new float[5][];
        for (int i = 0; i < 5; i++) { pos[i] = SteeringFileTest.random(r, 4); neg[i] = SteeringFileTest.random(r, 4); }
        Transport mean = Extraction.extract(Method.ACT_MEAN, pos, neg).transport();   // support (-inf, inf)
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        taps.put("unet.mid_block", new SteeringFile.TapVector("unet.mid_block", null, new Transport[] {mean}));
        Path ok = dir.resolve("mean.safetensors");
        new SteeringFile(new LinkedHashMap<>(), taps).write(ok);
        assertEquals(Float.POSITIVE_INFINITY, SteeringFile.read(ok).taps().get("unet.mid_block").transport(0).hi()[0]);

        float[] beta = mean.beta().clone();
        beta[1] = Float.NaN;
        taps.put("unet.mid_block", new SteeringFile.TapVector("unet.mid_block", null,
            new Transport[] {new Transport(mean.omega(), beta, mean.lo(), mean.hi())}));
        Path bad = dir.resolve("nan.safetensors");
        new SteeringFile(new LinkedHashMap<>(), taps).write(bad);
        UserError e = assertThrows(UserError.class, () -> SteeringFile.read(bad));
        assertTrue(e.getMessage().contains("'unet.mid_block/beta'") && e.getMessage().contains("index 1"), e.getMessage());
    }
}
