package dev.stitch.steering;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Incremental Linear-AcT (apple/ml-act's "incr" mode) on the tiny model: the first tap is the at-once fit; each later
 * tap is the Linear-AcT fit, by hand, of what reaches it while the earlier taps' transports steer; and that differs
 * from the at-once fit, which never sees them.
 */
class IncrementalActTest {
    @TempDir static Path dir;
    static StableDiffusion sd;
    static GenerateRequest base;
    static final PromptPairs PAIRS = new PromptPairs(List.of(new PromptPairs.Pair("a red house", "a house"),
        new PromptPairs.Pair("a red car", "a car"), new PromptPairs.Pair("a red dog", "a dog"), new PromptPairs.Pair("a red tree", "a tree"),
        new PromptPairs.Pair("a red boat on a lake", "a boat on a lake")));
    static final List<String> TAPS = List.of("text_encoder.text_model.encoder.layers.0", "unet.down_blocks.0.resnets.0", "unet.mid_block.resnets.1");
    static final PairedActivations.Options OPTIONS = new PairedActivations.Options(StepSet.ALL, false, SteeringPlan.Half.COND, "all", 3);

    @BeforeAll
    static void tinyModel() throws IOException {
        RandomModel.write("tiny", dir.resolve("tiny"), 3, DType.F32, null);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(dir.resolve("tiny"));
        sd = new StableDiffusion(pipe, Backends.byName("cpu"));
        base = pipe.request("unused").steps(2).seed(4).guidance(7.5f).size(64, 64).build();
    }

    static Transport transport(SteeringFile f, String tap) { return f.taps().get(tap).transport(-1); }

    static void assertSame(Transport a, Transport b, String what) {
        assertArrayEquals(a.omega(), b.omega(), 0f, what);
        assertArrayEquals(a.beta(), b.beta(), 0f, what);
        assertArrayEquals(a.lo(), b.lo(), 0f, what);
        assertArrayEquals(a.hi(), b.hi(), 0f, what);
    }

    @Test
    void eachTapIsFittedOnWhatTheEarlierTransportsLetThrough() {
        String pattern = String.join(",", TAPS);
        PairedActivations atOnce = PairedActivations.capture(sd, base, PAIRS, pattern, OPTIONS, PairedActivations.Progress.NONE);
        int[] calls = {0};
        PairedActivations incr = PairedActivations.captureIncremental(sd, base, PAIRS, pattern, OPTIONS, (d, t) -> {
            calls[0]++;
            assertEquals(TAPS.size() * PAIRS.size(), t);
        });
        assertEquals(TAPS.size() * 2, calls[0], "one capture per tap, two batches each");
        assertEquals(TAPS, incr.taps());
        SteeringFile a = atOnce.extract(Method.ACT_LINEAR), b = incr.extract(Method.ACT_LINEAR_INCREMENTAL);
        assertEquals("act-linear-incremental", b.meta(SteeringFile.METHOD, null));
        assertEquals("act", b.meta(SteeringFile.OPERATOR, null));

        // the first tap: nothing before it, the at-once fit bit for bit
        assertSame(transport(a, TAPS.get(0)), transport(b, TAPS.get(0)), "first tap");

        // each later tap: by hand, Linear-AcT on a capture with the earlier incremental transports applied
        for (int k = 1; k < TAPS.size(); k++) {
            Map<String, SteeringFile.TapVector> earlier = new java.util.LinkedHashMap<>();
            for (String t : TAPS.subList(0, k)) earlier.put(t, b.taps().get(t));
            PairedActivations steered;
            try (SteeringPlan.Registered r = SteeringPlan.defaults(new SteeringFile(Map.of(), earlier), 1f).withOperator(Operator.ACT).register(sd.taps())) {
                steered = PairedActivations.capture(sd, base, PAIRS, TAPS.get(k), OPTIONS, PairedActivations.Progress.NONE);
            }
            Transport hand = Transport.linear(steered.negative(TAPS.get(k)), steered.positive(TAPS.get(k)));
            assertSame(hand, transport(b, TAPS.get(k)), TAPS.get(k));
            // and not the at-once fit: its input was moved by the transports before it
            Transport once = transport(a, TAPS.get(k));
            double diff = 0;
            for (int j = 0; j < once.channels(); j++) diff += Math.abs(once.omega()[j] - hand.omega()[j]) + Math.abs(once.beta()[j] - hand.beta()[j]);
            assertTrue(diff > 1e-3 * once.channels(), TAPS.get(k) + ": incremental and at-once fits differ, mean |Δω|+|Δβ| " + diff / once.channels());
            assertFalse(java.util.Arrays.equals(steered.negative(TAPS.get(k))[0], atOnce.negative(TAPS.get(k))[0]));
        }
    }

    @Test
    void theTwoCapturesServeOnlyTheirOwnMethods() {
        PairedActivations atOnce = PairedActivations.capture(sd, base, PAIRS, TAPS.get(0), OPTIONS, PairedActivations.Progress.NONE);
        assertThrows(IllegalArgumentException.class, () -> atOnce.extract(Method.ACT_LINEAR_INCREMENTAL));
        PairedActivations incr = PairedActivations.captureIncremental(sd, base, PAIRS, TAPS.get(0), OPTIONS, PairedActivations.Progress.NONE);
        assertThrows(IllegalArgumentException.class, () -> incr.extract(Method.ACT_LINEAR));
        assertTrue(Method.ACT_LINEAR_INCREMENTAL.isTransport() && Method.ACT_LINEAR_INCREMENTAL.isIncremental());
        assertEquals(Method.ACT_LINEAR_INCREMENTAL, Method.parse("act-linear-incremental"));
    }
}
