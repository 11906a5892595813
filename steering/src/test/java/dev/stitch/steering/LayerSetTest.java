package dev.stitch.steering;

import dev.stitch.kernels.ParameterError;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LayerSetTest {
    /** A file of mid-block and up-block taps only, with layer scores: it has no early taps. */
    static SteeringFile file() {
        Random r = new Random(4);
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        Map<String, LayerScore> scores = new LinkedHashMap<>();
        String[] names = {"unet.mid_block.attentions.0", "unet.up_blocks.0.resnets.0", "unet.up_blocks.1.attentions.0"};
        double[] s = {0.5, 2.0, 1.0};
        for (int i = 0; i < names.length; i++) {
            taps.put(names[i], new SteeringFile.TapVector(names[i], new float[][] {SteeringFileTest.random(r, 4)}, null));
            scores.put(names[i], new LayerScore(s[i], 0));
        }
        return new SteeringFile(new LinkedHashMap<>(Map.of(SteeringFile.SCORES, SteeringFile.scoresJson(scores))), taps);
    }

    @Test
    void defaultsSkipGroupsTheFileHasNoTapsIn() {
        SteeringFile f = file();
        List<LayerSet> sets = LayerSet.defaults(f);
        assertEquals(List.of("all", "middle", "late"), sets.stream().map(LayerSet::label).toList());
        assertEquals(List.of("early"), LayerSet.skippedDefaults(f));
        assertEquals(List.copyOf(f.taps().keySet()), sets.getFirst().taps());
        assertEquals(List.of("unet.up_blocks.0.resnets.0", "unet.up_blocks.1.attentions.0"), sets.get(2).taps());
    }

    @Test
    void anExplicitEmptySetIsAnErrorNamingTheParameter() {
        ParameterError e = assertThrows(ParameterError.class, () -> LayerSet.parse(List.of("all", "early"), file(), 3));
        assertEquals("layerSets", e.parameter());
        assertEquals("early", e.value());
        assertEquals("the steering file has no early taps", e.problem());
        assertEquals("--layer-sets early: the steering file has no early taps", e.as("--layer-sets").getMessage());
        e = assertThrows(ParameterError.class, () -> LayerSet.parse(List.of("unet.down_*"), file(), 3));
        assertTrue(e.problem().contains("no tap of the file matches it"), e.getMessage());
        e = assertThrows(ParameterError.class, () -> LayerSet.parse(List.of("top0"), file(), 3));
        assertEquals("layerSets", e.parameter());
    }

    @Test
    void topAndSingleRankByLayerScoreAndKeepCallOrder() {
        List<LayerSet> sets = LayerSet.parse(List.of("top2", "single", "unet.up_*"), file(), 2);
        assertEquals(List.of("unet.up_blocks.0.resnets.0", "unet.up_blocks.1.attentions.0"), sets.get(0).taps());
        assertEquals(List.of("top2", "unet.up_blocks.0.resnets.0", "unet.up_blocks.1.attentions.0", "unet.up_*"),
            sets.stream().map(LayerSet::label).toList());
    }
}
