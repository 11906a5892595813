package dev.stitch.engine;

import dev.stitch.engine.io.SafeTensors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance set is part of the repository. The oracle's tests skip when a file of it is missing, so this test
 * is what fails when a checkout lacks it (or git mangled it): a build must never pass with the oracle silently skipped.
 */
class ConformanceSetTest {
    static final Path CONFORMANCE = Path.of(System.getProperty("stitch.conformance", "../conformance"));

    @Test
    void theRepositoryCarriesTheWholeConformanceSet() throws IOException {
        for (String part : List.of("tiny-sd2/model_index.json", "tiny-sd2/scheduler/scheduler_config.json",
                "tiny-sd2/tokenizer/vocab.json", "tiny-sd2/tokenizer/merges.txt", "tiny-sd2/text_encoder/model.safetensors",
                "tiny-sd2/unet/diffusion_pytorch_model.safetensors", "tiny-sd2/vae/diffusion_pytorch_model.safetensors",
                "tiny-sd2-ldm/tiny-sd2-ldm.safetensors", "tiny-sd2-ldm/tiny-sd2-ldm.yaml", "golden/prompts.json",
                "golden/pipeline_ddim_eps.png", "tiny-sd1/model_index.json", "tiny-sd1/tokenizer/vocab.json",
                "tiny-sd1/unet/diffusion_pytorch_model.safetensors", "tiny-sd1-ldm/tiny-sd1-ldm.safetensors",
                "golden/sd1/pipeline_pndm.safetensors", "golden/sd1/pipeline_pndm.png", "golden/sd1/img2img_pndm.safetensors",
                "golden/sd1/img2img_pndm.png", "make_sd1_goldens.py",
                "tiny-sd-turbo/model_index.json", "tiny-sd-turbo/scheduler/scheduler_config.json",
                "tiny-sd-turbo/unet/diffusion_pytorch_model.safetensors", "golden/turbo_euler_1step.safetensors",
                "golden/turbo_img2img_init.png", "make_turbo_goldens.py",
                "tiny-taesd/config.json", "tiny-taesd/diffusion_pytorch_model.safetensors", "make_taesd_goldens.py",
                "golden/pipeline_ddim_eps_taesd.png")) {
            Path file = CONFORMANCE.resolve(part);
            assertTrue(Files.isRegularFile(file), "the conformance set belongs to the repository, but " + file + " is missing");
        }
        List<Path> weights;   // not through tiny-sd-turbo's component folders: links to tiny-sd2's, not followed
        try (Stream<Path> all = Files.walk(CONFORMANCE)) {
            weights = all.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        // SD2 14, SD 1.x 9, SD-Turbo 4, the tiny AutoencoderTiny 6
        assertEquals(14 + 9 + 4 + 6, weights.size(), "safetensors files under " + CONFORMANCE + ": " + weights);
        // A line-ending conversion or a text merge would break a header or a tensor's byte range.
        for (Path w : weights) assertFalse(SafeTensors.open(w).names().isEmpty(), w + " holds no tensors");
    }
}
