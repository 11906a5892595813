package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code stitch taps}: every tap of a model, in call order, with layout, channels and shape (docs/design.md §4). */
@Command(name = "taps", description = "List every tap of a model with its layout, channel count and shape at one image size.",
    sortOptions = false)
final class TapsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|FILE|ID", description = "diffusers model folder, SD 1.x / SD2 checkpoint, or Hub id org/name[@revision] in the cache")
    Path model;

    @Option(names = "--variant", paramLabel = "V", description = "weights variant of a diffusers model, e.g. fp16")
    String variant;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "with a checkpoint --model: CLIP tokenizer folder (default: tokenizer/ beside the file)")
    Path tokenizer;

    @Option(names = "--vae", paramLabel = "DIR", description = "list the taps with this diffusers vae folder (AutoencoderKL or AutoencoderTiny) in place of the model's VAE")
    Path vae;

    @Option(names = "--width", paramLabel = "W", description = "image width, a multiple of 8 (default: the model's)")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "image height, a multiple of 8 (default: the model's)")
    Integer height;

    @Option(names = "--taps", paramLabel = "GLOB[,GLOB]", description = "list only the taps this pattern selects (as trace --taps would)")
    String taps;

    @Override
    public Integer call() {
        checkSize("--width", width);
        checkSize("--height", height);
        StableDiffusionPipeline pipe = Models.open(model, tokenizer, null, vae, variant);
        int w = width != null ? width : pipe.defaultSize(), h = height != null ? height : pipe.defaultSize();
        TapCatalog catalog = pipe.tapCatalog(w, h);
        if (taps != null) {
            var chosen = java.util.Set.copyOf(catalog.resolve(taps));
            catalog = TapCatalog.of(catalog.entries().stream().filter(e -> chosen.contains(e.name())).toList());
        }
        System.err.println("stitch: taps of " + model + " at " + w + "x" + h + ", batch 1 (UNet taps are called once per denoising step)");
        System.out.print(catalog.table());
        return 0;
    }

    static void checkSize(String flag, Integer v) {
        if (v != null && (v <= 0 || v % 8 != 0)) throw new UserError(flag + " " + v + ": must be a positive multiple of 8");
    }
}
