package dev.stitch.engine.pipeline;

import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.List;

/**
 * What one {@code generate} call asks for (docs/design.md §6). Null fields take the model's defaults: the scheduler
 * named in its config, its timestep spacing and prediction type, its native size.
 *
 * @param negativePrompts none (the empty prompt for every row), one for all rows, or one per prompt
 * @param initLatents     unit-variance noise [B, 4, h, w] used instead of the seeded noise (diffusers' {@code latents=})
 * @param initImage       img2img: the start image [B, 3, H, W] in [-1, 1], noised to {@code strength}
 */
public record GenerateRequest(List<String> prompts, List<String> negativePrompts, int steps, float guidance,
                              String scheduler, long seed, Integer width, Integer height, String timestepSpacing,
                              String prediction, ClipTokenizer.Mode tokenizerMode, Tensor initLatents, Tensor initImage,
                              float strength) {
    public GenerateRequest {
        if (prompts == null || prompts.isEmpty()) throw new UserError("--prompt: at least one prompt is needed");
        negativePrompts = negativePrompts == null ? List.of() : List.copyOf(negativePrompts);
        if (negativePrompts.size() > 1 && negativePrompts.size() != prompts.size())
            throw new UserError("--negative-prompt: give one for all prompts or one per prompt (" + prompts.size() + "), not "
                + negativePrompts.size());
        if (steps < 1) throw new UserError("--steps " + steps + ": must be at least 1");
        if (!(guidance >= 0) || Float.isInfinite(guidance)) throw new UserError("--guidance " + guidance + ": must be a number >= 0");
        if (width != null && (width <= 0 || width % 8 != 0)) throw new UserError("--width " + width + ": must be a positive multiple of 8");
        if (height != null && (height <= 0 || height % 8 != 0)) throw new UserError("--height " + height + ": must be a positive multiple of 8");
        if (initImage != null && !(strength > 0 && strength <= 1)) throw new UserError("--strength " + strength + ": must be in (0, 1]");
        if (tokenizerMode == null) tokenizerMode = ClipTokenizer.Mode.ORIGINAL;
    }

    /** A plain text-to-image request with diffusers' usual settings. */
    public static GenerateRequest of(String prompt, int steps, long seed) {
        return new GenerateRequest(List.of(prompt), List.of(), steps, 7.5f, null, seed, null, null, null, null, null, null,
            null, 1f);
    }

    public int batch() { return prompts.size(); }

    public String negative(int i) {
        return negativePrompts.isEmpty() ? "" : negativePrompts.get(negativePrompts.size() == 1 ? 0 : i);
    }

    /** Guidance ≤ 1 runs no unconditional pass, as diffusers does. */
    public boolean guided() { return guidance > 1; }

    public GenerateRequest withInitLatents(Tensor latents) {
        return new GenerateRequest(prompts, negativePrompts, steps, guidance, scheduler, seed, width, height, timestepSpacing,
            prediction, tokenizerMode, latents, initImage, strength);
    }
}
