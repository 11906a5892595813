package dev.stitch.cli;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.GenerateResult;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.pipeline.Timings;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code stitch generate}: text-to-image (and img2img) with optional steering, docs/design.md §6. */
@Command(name = "generate", description = "Generate images from prompts.", sortOptions = false)
final class GenerateCommand implements Callable<Integer> {
    @Mixin GenerationOptions gen;

    @Option(names = "--save-latents", paramLabel = "F.safetensors", description = "write the final latents (before the VAE) as tensor 'latents'")
    Path saveLatents;

    @Option(names = "--json", paramLabel = "FILE.json",
        description = "also write where the time went (the closing summary line) as JSON, for scripts")
    Path json;

    @Mixin SteeringOptions steering;

    @Option(names = "--out", required = true, paramLabel = "IMAGE.png", description = "output PNG; a batch adds -1, -2, ... before the extension")
    Path out;

    @Override
    public Integer call() {
        checkOut(out);
        var inputs = gen.inputs(steering);
        OutputPaths.check("--out", out, inputs);
        for (int i = 1; i < gen.prompts.size(); i++) OutputPaths.check("--out", numbered(out, i), inputs);
        OutputPaths.check("--save-latents", saveLatents, inputs);
        OutputPaths.check("--json", json, inputs);
        if (json != null && java.nio.file.Files.isDirectory(json)) throw new UserError("--json " + json + ": is a folder, expected a file name");
        Backend ops = Devices.backend(gen.device);
        long loadStart = System.nanoTime();
        StableDiffusionPipeline pipe = gen.pipeline();
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        GenerateRequest req = gen.request(pipe);   // checked against the model: every mistake is reported before anything else is printed
        var plans = steering.plans(pipe, req.width(), req.height(), req.steps(), req.guidance());
        HookedTaps taps = new HookedTaps(ops);
        try (var registered = SteeringOptions.register(plans, taps)) {
            System.err.println("stitch: seed " + req.seed() + ", " + ops.name() + " backend" + (plans.isEmpty() ? "" : ", " + plans.size() + " steering file(s)"));
            GenerateResult res = pipe.generate(req, ops, taps, ProgressBar.steps());
            writeOutputs(req, res, pipe, out, saveLatents, steering.describe(plans));
            Timings t = res.timings().withLoad(loadSeconds);
            System.err.println("stitch: " + t.summary());
            if (json != null) {
                AtomicFiles.write(json, t.json().toPrettyString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                System.err.println("stitch: wrote " + json);
            }
        }
        return 0;
    }

    /** {@code --out} must name a PNG file that can be created (not a folder). */
    static void checkOut(Path out) {
        if (!out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png"))
            throw new UserError("--out " + out + ": must end in .png");
        if (java.nio.file.Files.isDirectory(out)) throw new UserError("--out " + out + ": is a folder, expected a .png file name");
    }

    /** @param steering the steering the images were made with, for their PNG text (null: none) */
    static void writeOutputs(GenerateRequest req, GenerateResult res, StableDiffusionPipeline pipe, Path out, Path saveLatents,
                             String steering) {
        for (int i = 0; i < res.pixels().length; i++) {
            Path file = i == 0 ? out : numbered(out, i);
            var text = StableDiffusionPipeline.pngText(req, i, res, pipe.source);
            if (steering != null) text.put("steering", steering);
            if (pipe.vaeSource != null) text.put("vae", String.valueOf(pipe.vaeSource.toAbsolutePath().normalize().getFileName()));
            Png.write(file, new RgbImage(res.width(), res.height(), res.pixels()[i]), text);
            System.err.println("stitch: wrote " + file);
        }
        if (saveLatents != null) {
            new SafeTensorsWriter().metadata("seed", Long.toString(req.seed())).add("latents", res.latents()).write(saveLatents);
            System.err.println("stitch: wrote " + saveLatents);
        }
    }

    /** {@code out.png} → {@code out-1.png}. */
    static Path numbered(Path out, int i) {
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return out.resolveSibling(name.substring(0, dot) + "-" + i + name.substring(dot));
    }
}
