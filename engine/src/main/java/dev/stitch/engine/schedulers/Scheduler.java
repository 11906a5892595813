package dev.stitch.engine.schedulers;

/**
 * One denoising schedule, set up for a number of steps: which timesteps the UNet sees, how its input is scaled, and
 * how each model output moves the latents. Works on host float arrays (latents are small); every method is
 * element-wise, so any batch layout works as long as {@code modelOutput} and {@code sample} match.
 *
 * <p>Step indices count UNet calls: {@code timesteps()[i]} is the timestep of call i (some schedulers, such as PNDM,
 * make more calls than the requested number of steps). Multistep schedulers remember earlier outputs, so
 * {@link #step} must be called once per index, in order (an img2img run may start at any index).
 */
public interface Scheduler {
    /** The timestep passed to the UNet at each call, in order (fractional for Euler). */
    float[] timesteps();

    /**
     * The standard deviation of the initial noise: the pipeline multiplies unit noise by it. 1 for the schedulers
     * that work on the DDPM sample itself (DDIM, PNDM, DPM-Solver); the sigma-space ones (Euler) say theirs.
     */
    default float initNoiseSigma() { return 1f; }

    /** The UNet input for call {@code stepIndex}: {@code sample} itself unless the scheduler scales it (Euler). */
    default float[] scaleModelInput(float[] sample, int stepIndex) { return sample; }

    /** The latents after call {@code stepIndex}, given the (guided) model output and the latents before it. */
    float[] step(float[] modelOutput, int stepIndex, float[] sample);

    /** {@code original} noised to the level of call {@code stepIndex} (img2img's starting latents). */
    float[] addNoise(float[] original, float[] noise, int stepIndex);
}
