package dev.stitch.eval.study;

import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.eval.run.Shard;
import dev.stitch.kernels.Backends;
import dev.stitch.kernels.DType;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A study lists act-linear-incremental like any method: its own tap-by-tap capture, the first tap the at-once fit. */
class IncrementalMethodStudyTest {
    @Test
    void aStudyFitsTheIncrementalMethodOnItsOwnCapture(@TempDir Path dir) throws IOException {
        RandomModel.write("tiny", dir.resolve("model"), 7, DType.F32, null);
        Files.writeString(dir.resolve("pairs.jsonl"), """
            {"positive": "a red house", "negative": "a house"}
            {"positive": "a red car", "negative": "a car"}
            {"positive": "a red dog", "negative": "a dog"}
            """);
        Files.writeString(dir.resolve("study.yaml"), """
            model: model
            generation: {steps: 2, seed: 1}
            pairs: pairs.jsonl
            capture: {taps: "unet.down_blocks.0.resnets.0,unet.mid_block.resnets.1", batch: 3}
            methods: [act-linear, act-linear-incremental]
            setups: [{name: incr, method: act-linear-incremental, taps: all, strength: 1}]
            prompts: {target: ["a bus"]}
            metrics: {colour: red}
            """);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Study.Result r = new Study(Experiment.read(dir.resolve("study.yaml")), Backends.byName("cpu"), new PrintStream(log, true, StandardCharsets.UTF_8))
            .run(dir.resolve("run"), Shard.ALL);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("tap by tap, for act-linear-incremental"), log.toString(StandardCharsets.UTF_8));
        SteeringFile once = SteeringFile.read(r.run().dir().resolve("vectors/act-linear.safetensors"));
        SteeringFile incr = SteeringFile.read(r.run().dir().resolve("vectors/act-linear-incremental.safetensors"));
        Transport a0 = once.taps().get("unet.down_blocks.0.resnets.0").transport(-1), b0 = incr.taps().get("unet.down_blocks.0.resnets.0").transport(-1);
        assertArrayEquals(a0.omega(), b0.omega(), 0f);
        assertArrayEquals(a0.beta(), b0.beta(), 0f);
        Transport a1 = once.taps().get("unet.mid_block.resnets.1").transport(-1), b1 = incr.taps().get("unet.mid_block.resnets.1").transport(-1);
        assertFalse(java.util.Arrays.equals(a1.beta(), b1.beta()), "the later tap is fitted on transported inputs");
        assertEquals(1, Files.readAllLines(r.run().scoresFile()).size());
    }
}
