package dev.stitch.cli;

import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.pipeline.VaeCodec;
import dev.stitch.engine.vae.Vae;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code stitch decode}: saved latents through a VAE into PNGs (and the raw output), {@link VaeCodec}. */
@Command(name = "decode", sortOptions = false,
    description = {"Decode latents (as 'generate --save-latents' writes them) into PNGs with the model's VAE or any --vae.",
        "The latents are divided by the VAE's scaling_factor first, as the pipeline does (0.18215 for SD's AutoencoderKL, 1.0 for TAESD)."})
final class DecodeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR|FILE", description = "use this model's VAE (diffusers folder or SD2 checkpoint)")
    Path model;

    @Option(names = "--vae", paramLabel = "DIR", description = "use this diffusers vae folder instead (AutoencoderKL, or AutoencoderTiny such as madebyollin/taesd)")
    Path vae;

    @Option(names = "--latents", required = true, paramLabel = "F.safetensors", description = "tensor 'latents' [B, 4, h, w] on the UNet's scale")
    Path latents;

    @Option(names = "--out", required = true, paramLabel = "IMAGE.png", description = "output PNG; a batch adds -1, -2, ... before the extension")
    Path out;

    @Option(names = "--raw-out", paramLabel = "F.safetensors", description = "also write tensor 'decoded' [B, 3, H, W]: the VAE's output before clamping and conversion to pixels")
    Path rawOut;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() {
        GenerateCommand.checkOut(out);
        var inputs = new OutputPaths.Input[] {OutputPaths.input("--model", Models.locate(model)), OutputPaths.input("--vae", vae), OutputPaths.input("--latents", latents)};
        OutputPaths.check("--out", out, inputs);
        OutputPaths.check("--raw-out", rawOut, inputs);
        Vae v = Models.vae(model, vae);
        Map<String, String> text = new LinkedHashMap<>();
        text.put("latents", String.valueOf(latents.getFileName()));
        text.put("vae", v.kind().className + (vae != null ? " " + vae.toAbsolutePath().normalize().getFileName() : ""));
        text.put("software", "Stitch");
        var raw = new VaeCodec(v, Devices.backend(device)).decodeFile(latents, i -> i == 0 ? out : GenerateCommand.numbered(out, i), rawOut, text);
        for (int i = 0; i < raw.dim(0); i++) System.err.println("stitch: wrote " + (i == 0 ? out : GenerateCommand.numbered(out, i)));
        if (rawOut != null) System.err.println("stitch: wrote " + rawOut);
        return 0;
    }
}
