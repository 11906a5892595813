package dev.stitch.steering;

import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A block's output is its last layer's output: one tensor, two tap names, never steered twice. */
class AliasTest {
    @TempDir static Path dir;
    static StableDiffusionPipeline pipe;
    static TapCatalog catalog;

    @BeforeAll
    static void model() throws IOException {
        RandomModel.write("tiny", dir.resolve("tiny"), 3, DType.F32, null);
        pipe = StableDiffusionPipeline.load(dir.resolve("tiny"));
        catalog = pipe.tapCatalog(64, 64);
    }

    @Test
    void theCatalogKnowsWhichTapsNameOneTensor() {
        assertEquals("unet.mid_block.resnets.1", catalog.entry("unet.mid_block").aliasOf());
        assertEquals(List.of("unet.mid_block"), catalog.aliases("unet.mid_block.resnets.1"));
        assertEquals(List.of("unet.mid_block.resnets.1"), catalog.aliases("unet.mid_block"));
        assertEquals(List.of(), catalog.aliases("unet.mid_block.attentions.0"));
        assertNull(catalog.entry("unet.conv_in").aliasOf());
        assertTrue(catalog.table().lines().anyMatch(l -> l.startsWith("unet.mid_block ") && l.endsWith("unet.mid_block.resnets.1")), catalog.table());
    }

    @Test
    void aPlanSteeringBothNamesIsRefusedNamingBoth() {
        Random r = new Random(5);
        Map<String, SteeringFile.TapVector> taps = new LinkedHashMap<>();
        for (String t : List.of("unet.mid_block.resnets.1", "unet.mid_block"))
            taps.put(t, new SteeringFile.TapVector(t, new float[][] {SteeringFileTest.random(r, catalog.entry(t).channels())}, null));
        SteeringPlan plan = SteeringPlan.defaults(new SteeringFile(new LinkedHashMap<>(), taps), 2f);
        UserError e = assertThrows(UserError.class, () -> plan.check(catalog, "winter.safetensors"));
        assertTrue(e.getMessage().startsWith("winter.safetensors: taps 'unet.mid_block.resnets.1' and 'unet.mid_block' are the same tensor"), e.getMessage());
        plan.withTapStrength("unet.mid_block", 0).check(catalog, "winter.safetensors");   // one of them: fine
        plan.restrictedTo(List.of("unet.mid_block")).check(catalog, "winter.safetensors");
    }

    @Test
    void extractionReadsATensorOnceUnderItsFirstName() {
        GenerateRequest base = pipe.request("a dog").steps(2).build();
        PairedActivations acts = PairedActivations.capture(new StableDiffusion(pipe, Backends.byName("cpu")), base, List.of("a dog, snow"), List.of("a dog"),
            "unet.mid_block*", new PairedActivations.Options(dev.stitch.engine.taps.StepSet.of(0), false, SteeringPlan.Half.COND, "all", 1),
            PairedActivations.Progress.NONE);
        assertEquals(Map.of("unet.mid_block", "unet.mid_block.resnets.1"), acts.aliasesSkipped());
        assertTrue(acts.taps().contains("unet.mid_block.resnets.1") && !acts.taps().contains("unet.mid_block"), acts.taps().toString());
        SteeringPlan.defaults(acts.extract(Method.MEAN_DIFF), 1f).check(catalog, "extracted");
    }
}
