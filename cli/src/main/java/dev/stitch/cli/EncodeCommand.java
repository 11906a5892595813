package dev.stitch.cli;

import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.pipeline.VaeCodec;
import dev.stitch.engine.vae.Vae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code stitch encode}: PNGs through a VAE's encoder into latents, {@link VaeCodec}. */
@Command(name = "encode", sortOptions = false,
    description = {"Encode PNGs into latents (tensor 'latents', multiplied by the VAE's scaling_factor as the pipeline uses them),"
        + " with the model's VAE or any --vae.",
        "Deterministic: AutoencoderKL gives its distribution's mean unless --sample SEED asks for a draw; AutoencoderTiny's"
        + " encoder output has no distribution."})
final class EncodeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR|FILE", description = "use this model's VAE (diffusers folder or SD2 checkpoint)")
    Path model;

    @Option(names = "--vae", paramLabel = "DIR", description = "use this diffusers vae folder instead (AutoencoderKL, or AutoencoderTiny such as madebyollin/taesd)")
    Path vae;

    @Option(names = "--image", required = true, paramLabel = "IMAGE.png", description = "image to encode; repeat for a batch (all one size, a multiple of 8)")
    List<Path> images = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "F.safetensors", description = "output file: tensor 'latents' [B, 4, H/8, W/8]")
    Path out;

    @Option(names = "--sample", paramLabel = "SEED", description = "AutoencoderKL: draw a sample with this seed (as torch.manual_seed) instead of the mean")
    Long sample;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() {
        List<OutputPaths.Input> inputs = new ArrayList<>(List.of(OutputPaths.input("--model", Models.locate(model)), OutputPaths.input("--vae", vae)));
        for (Path p : images) inputs.add(OutputPaths.input("--image", p));
        OutputPaths.check("--out", out, inputs);
        Vae v = Models.vae(model, vae);
        var latents = new VaeCodec(v, Devices.backend(device)).encodeFiles(images, out, sample);
        System.err.println("stitch: wrote " + out + " (latents " + java.util.Arrays.toString(latents.shape()) + ")");
        return 0;
    }
}
