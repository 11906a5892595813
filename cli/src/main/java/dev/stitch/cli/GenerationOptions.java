package dev.stitch.cli;

import dev.stitch.engine.image.Images;
import dev.stitch.engine.image.Png;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.TimestepSpacing;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** The generation flags of docs/design.md §6, shared by generate, trace, extract, layers, sweep and eval. */
final class GenerationOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR|FILE|ID",
        description = "diffusers model folder, an original SD 1.x or SD2 checkpoint (.safetensors, .ckpt) converted in memory, or a Hub id "
            + "org/name[@revision] in the local Hugging Face cache (see 'stitch pull')")
    Path model;

    @Option(names = "--variant", paramLabel = "V", description = "weights variant of a diffusers model, e.g. fp16 (default: the default files, else the only variant there is)")
    String variant;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "with a checkpoint --model: CLIP tokenizer folder (default: tokenizer/ beside the file)")
    Path tokenizer;

    @Option(names = "--vae", paramLabel = "DIR", description = "use this diffusers vae folder (AutoencoderKL, or AutoencoderTiny such as"
        + " madebyollin/taesd) instead of the model's own VAE, to decode (and encode --init-image)")
    Path vae;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "prompt; repeat for a batch (one image per prompt)")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "once for all prompts, or once per prompt")
    List<String> negatives = new ArrayList<>();

    @Option(names = "--steps", paramLabel = "N", defaultValue = "50", description = "denoising steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", paramLabel = "G", defaultValue = "7.5", description = "classifier-free guidance scale (default ${DEFAULT-VALUE}; <= 1 runs no unconditional pass)")
    float guidance;

    @Option(names = "--scheduler", paramLabel = "NAME", description = "ddim, pndm, euler, euler-a or dpm++2m (default: the model's)")
    String scheduler;

    @Option(names = "--seed", paramLabel = "N", description = "noise seed, as torch.manual_seed on CPU (default: random, printed)")
    Long seed;

    @Option(names = "--width", paramLabel = "W", description = "image width, a multiple of 8 (default: the model's)")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "image height, a multiple of 8 (default: the model's)")
    Integer height;

    @Option(names = "--timestep-spacing", paramLabel = "S", description = "leading, linspace or trailing (default: the scheduler config's)")
    String timestepSpacing;

    @Option(names = "--prediction", paramLabel = "P", description = "epsilon or v (default: the scheduler config's)")
    String prediction;

    @Option(names = "--tokenizer-mode", paramLabel = "M", defaultValue = "original", description = "original (SD2's open_clip) or diffusers (a typed ! becomes the pad id)")
    String tokenizerMode;

    @Option(names = "--init-latents", paramLabel = "F.safetensors", description = "tensor 'latents' [B,4,H/8,W/8]: unit-variance start noise")
    Path initLatents;

    @Option(names = "--init-image", paramLabel = "IMAGE.png", description = "img2img: start from this image")
    Path initImage;

    @Option(names = "--strength", paramLabel = "S", defaultValue = "0.8", description = "img2img: how much of the image is re-drawn, (0, 1] (default ${DEFAULT-VALUE})")
    float strength;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    /**
     * What these flags (and {@code steering}'s {@code --steer} files, if given) read: every output is checked against
     * them with {@link OutputPaths#check} before anything is loaded or written.
     */
    List<OutputPaths.Input> inputs(SteeringOptions steering) {
        List<OutputPaths.Input> in = new ArrayList<>(List.of(OutputPaths.input("--model", modelPath()), OutputPaths.input("--tokenizer", tokenizer),
            OutputPaths.input("--vae", vae), OutputPaths.input("--init-latents", initLatents), OutputPaths.input("--init-image", initImage)));
        if (steering != null)
            for (String s : steering.steer) in.add(OutputPaths.input("--steer", SteeringOptions.Spec.parse(s).file()));
        return in;
    }

    /**
     * The flag of each request parameter, for messages: the library names its parameters ({@code steps}), the
     * command line its flags ({@code --steps}).
     */
    private static final Map<String, String> FLAGS = Map.ofEntries(
        Map.entry("prompt", "--prompt"), Map.entry("negativePrompt", "--negative-prompt"), Map.entry("steps", "--steps"),
        Map.entry("guidance", "--guidance"), Map.entry("scheduler", "--scheduler"), Map.entry("seed", "--seed"),
        Map.entry("width", "--width"), Map.entry("height", "--height"), Map.entry("timestepSpacing", "--timestep-spacing"),
        Map.entry("prediction", "--prediction"), Map.entry("tokenizerMode", "--tokenizer-mode"),
        Map.entry("initLatents", "--init-latents"), Map.entry("initImage", "--init-image"), Map.entry("strength", "--strength"));

    /** The flag that sets the request parameter {@code parameter}, or null when it is not one. */
    static String flag(String parameter) { return FLAGS.get(parameter); }

    private Path located;

    /** The folder or file {@code --model} names (a Hub id: its snapshot in the cache), for the checks on outputs. */
    Path modelPath() {
        if (located == null) located = Models.locate(model);
        return located;
    }

    /** The model {@code --model} names, with the VAE of {@code --vae} if given (see {@link Models#open}). */
    StableDiffusionPipeline pipeline() {
        return Models.open(model, tokenizer, prediction == null ? null : Prediction.parse(prediction), vae, variant);
    }

    /** The request these flags describe; the seed is drawn (and so printed by the caller) if none was given. */
    GenerateRequest request(StableDiffusionPipeline pipe) {
        if (prompts.isEmpty()) throw new UserError("--prompt: at least one prompt is needed");
        if (seed == null) seed = ThreadLocalRandom.current().nextLong(0, 1L << 32);
        return request(pipe, prompts, seed, guidance);
    }

    /** The request for {@code prompts} with this seed and guidance, the other flags as given (eval runs one per item). */
    GenerateRequest request(StableDiffusionPipeline pipe, List<String> prompts, long seed, float guidance) {
        ClipTokenizer.Mode mode = switch (tokenizerMode.toLowerCase(Locale.ROOT)) {
            case "original" -> ClipTokenizer.Mode.ORIGINAL;
            case "diffusers" -> ClipTokenizer.Mode.DIFFUSERS;
            default -> throw new UserError("--tokenizer-mode " + tokenizerMode + ": expected original or diffusers");
        };
        Tensor latents = initLatents == null ? null : readLatents(initLatents);
        Tensor image = null;
        if (initImage != null) {
            RgbImage img = Png.read(initImage);
            if (width == null) width = img.width();
            if (height == null) height = img.height();
            if (img.width() != width || img.height() != height)
                throw new UserError("--init-image " + initImage + ": image is " + img.width() + "x" + img.height() + ", but --width/--height ask for "
                    + width + "x" + height);
            byte[][] rows = new byte[prompts.size()][];
            for (int i = 0; i < rows.length; i++) rows[i] = img.rgb();
            image = Images.fromUint8(rows, img.height(), img.width());
        }
        return pipe.request(prompts).negativePrompts(negatives).steps(steps).guidance(guidance).seed(seed).size(width, height)
            .scheduler(scheduler == null ? null : SchedulerKind.parse(scheduler))
            .timestepSpacing(timestepSpacing == null ? null : TimestepSpacing.parse(timestepSpacing))
            .prediction(prediction == null ? null : Prediction.parse(prediction))
            .tokenizerMode(mode).initLatents(latents).initImage(image).strength(strength).build();
    }

    static Tensor readLatents(Path file) {
        if (!Files.exists(file)) throw new UserError("--init-latents " + file + ": no such file");
        SafeTensors st = SafeTensors.open(file);
        if (!st.contains("latents")) throw new UserError("--init-latents " + file + ": no tensor named 'latents' (found " + st.names() + ")");
        return Tensor.of(st.floats("latents"), st.entry("latents").intShape());
    }
}
