package dev.stitch.convert;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SimpleYamlTest {
    static final Path F = Path.of("test.yaml");

    @Test
    void nestedMappingsScalarsAndFlowLists() {
        Map<String, Object> y = SimpleYaml.parse(F, """
            # a comment
            model:
              base_learning_rate: 1.0e-4
              target: ldm.models.diffusion.ddpm.LatentDiffusion   # trailing comment
              params:
                parameterization: "v"
                linear_start: 0.00085
                timesteps: 1000
                first_stage_key: 'jpg'
                use_ema: False
                unused: null
                unet_config:
                  params:
                    attention_resolutions: [ 4, 2, 1 ]
                    num_head_channels: 64
                    empty: []
                    text: "a # not a comment"
            """);
        assertEquals(1.0e-4, SimpleYaml.get(y, "model.base_learning_rate"));
        assertEquals("ldm.models.diffusion.ddpm.LatentDiffusion", SimpleYaml.get(y, "model.target"));
        assertEquals("v", SimpleYaml.get(y, "model.params.parameterization"));
        assertEquals(0.00085, SimpleYaml.get(y, "model.params.linear_start"));
        assertEquals(1000L, SimpleYaml.get(y, "model.params.timesteps"));
        assertEquals("jpg", SimpleYaml.get(y, "model.params.first_stage_key"));
        assertEquals(false, SimpleYaml.get(y, "model.params.use_ema"));
        assertNull(SimpleYaml.get(y, "model.params.unused"));
        assertEquals(List.of(4L, 2L, 1L), SimpleYaml.get(y, "model.params.unet_config.params.attention_resolutions"));
        assertEquals(64L, SimpleYaml.get(y, "model.params.unet_config.params.num_head_channels"));
        assertEquals(List.of(), SimpleYaml.get(y, "model.params.unet_config.params.empty"));
        assertEquals("a # not a comment", SimpleYaml.get(y, "model.params.unet_config.params.text"));
        assertNull(SimpleYaml.get(y, "model.params.nothing.here"));
    }

    @Test
    void blockSequences() {
        Map<String, Object> y = SimpleYaml.parse(F, """
            lossconfig:
              milestones:
                - 10
                - 20
              callbacks:
              - target: a.B
                params: {}
              - target: c.D
            """);
        assertEquals(List.of(10L, 20L), SimpleYaml.get(y, "lossconfig.milestones"));
        List<?> cb = (List<?>) SimpleYaml.get(y, "lossconfig.callbacks");
        assertEquals(2, cb.size());
        assertEquals("a.B", ((Map<?, ?>) cb.get(0)).get("target"));
        assertEquals(Map.of(), ((Map<?, ?>) cb.get(0)).get("params"));
        assertEquals("c.D", ((Map<?, ?>) cb.get(1)).get("target"));
    }

    @Test
    void badInputNamesTheLine() {
        UserError tab = assertThrows(UserError.class, () -> SimpleYaml.parse(F, "a:\n\tb: 1\n"));
        assertTrue(tab.getMessage().startsWith("test.yaml:2:"), tab.getMessage());
        UserError dup = assertThrows(UserError.class, () -> SimpleYaml.parse(F, "a: 1\na: 2\n"));
        assertTrue(dup.getMessage().contains("duplicate key 'a'"), dup.getMessage());
        UserError open = assertThrows(UserError.class, () -> SimpleYaml.parse(F, "a: [1, 2\n"));
        assertTrue(open.getMessage().contains("test.yaml:1:"), open.getMessage());
    }

    @Test
    void readsTheConformanceYaml() {
        Path p = ConversionTest.YAML;
        assumeTrue(Files.isRegularFile(p), "conformance yaml not found at " + p.toAbsolutePath());
        Map<String, Object> y = SimpleYaml.read(p);
        assertEquals(16L, SimpleYaml.get(y, "model.params.unet_config.params.num_head_channels"));
        assertEquals(List.of(1L, 1L, 2L, 2L), SimpleYaml.get(y, "model.params.unet_config.params.channel_mult"));
        assertEquals(16L, SimpleYaml.get(y, "model.params.image_size"));
        assertEquals(0.18215, SimpleYaml.get(y, "model.params.scale_factor"));
        assertEquals("penultimate", SimpleYaml.get(y, "model.params.cond_stage_config.params.layer"));
        assertEquals("torch.nn.Identity", SimpleYaml.get(y, "model.params.first_stage_config.params.lossconfig.target"));
    }
}
