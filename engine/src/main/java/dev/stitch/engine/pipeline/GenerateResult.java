package dev.stitch.engine.pipeline;

import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.kernels.Tensor;

/**
 * What a generation produced: the final latents before the VAE (not divided by the scaling factor), the decoded
 * image in [-1, 1] before clamping, 8-bit HWC pixels per row, and where the time went.
 */
public record GenerateResult(Tensor latents, Tensor imageRaw, byte[][] pixels, int width, int height, SchedulerKind scheduler,
                             float[] timesteps, Timings timings) {}
