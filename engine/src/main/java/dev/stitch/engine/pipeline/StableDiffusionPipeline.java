package dev.stitch.engine.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.Ctx;
import dev.stitch.kernels.ParameterError;
import dev.stitch.engine.image.Images;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.engine.schedulers.Scheduler;
import dev.stitch.engine.schedulers.SchedulerConfig;
import dev.stitch.engine.schedulers.SchedulerKind;
import dev.stitch.engine.schedulers.Schedulers;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.ModelCall;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapContext;
import dev.stitch.engine.taps.Taps;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.engine.tokenizer.ClipTokenizer;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.vae.Vae;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * diffusers' StableDiffusionPipeline (txt2img, and img2img from an init image), written out: encode the prompts,
 * seed the latents, denoise with classifier-free guidance, decode. Numerically it follows diffusers 0.25.1 step by
 * step (see the conformance README (e)), so the same inputs give the same latents.
 */
public final class StableDiffusionPipeline {
    public final Path source;
    public final ClipTokenizer tokenizer;
    public final ClipTextModel textEncoder;
    public final UNet2DConditionModel unet;
    public final Vae vae;
    public final SchedulerConfig schedulerConfig;
    /** The folder of a VAE that replaced the model's own ({@code --vae}); null when the model's own is used. */
    public final Path vaeSource;

    public StableDiffusionPipeline(Path source, ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
                                   Vae vae, SchedulerConfig schedulerConfig) {
        this(source, tokenizer, textEncoder, unet, vae, schedulerConfig, null);
    }

    private StableDiffusionPipeline(Path source, ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
                                    Vae vae, SchedulerConfig schedulerConfig, Path vaeSource) {
        this.vaeSource = vaeSource;
        this.source = source;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
    }

    /** Loads a diffusers folder: {@code model_index.json} and the five component folders, default weights. */
    public static StableDiffusionPipeline load(Path dir) { return load(dir, null, null); }

    /**
     * Loads a diffusers folder with the VAE of {@code vaeDir} (a diffusers {@code vae} folder holding an AutoencoderKL
     * or an AutoencoderTiny) instead of its own, whose folder is then not needed; {@code vaeDir} null: its own.
     */
    public static StableDiffusionPipeline load(Path dir, Path vaeDir) { return load(dir, vaeDir, null); }

    /**
     * Loads a diffusers folder as {@link #load(Path, Path)} does, with the weights of {@code variant} (e.g. {@code fp16};
     * null: the default files) in each component that has them, the default weights elsewhere, as diffusers does (see
     * {@link WeightFiles}).
     */
    public static StableDiffusionPipeline load(Path dir, Path vaeDir, String variant) {
        if (!Files.exists(dir)) throw new UserError(dir + ": no such model folder");
        if (!Files.isDirectory(dir))
            throw new UserError(dir + ": not a folder (a diffusers model folder is expected; convert single-file checkpoints with 'stitch convert')");
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) throw new UserError(dir + ": no model_index.json (not a diffusers model folder)");
        checkIndex(index);
        for (String part : new String[] {"tokenizer", "text_encoder", "unet", "vae", "scheduler"})
            if (!Files.isDirectory(dir.resolve(part)) && !(part.equals("vae") && vaeDir != null))
                throw new UserError(dir + ": missing component folder '" + part + "/'");
        Path schedulerFile = dir.resolve("scheduler/scheduler_config.json");
        if (!Files.isRegularFile(schedulerFile)) throw new UserError(dir + ": missing scheduler/scheduler_config.json");
        if (variant != null && Stream.of("text_encoder", "unet", "vae").noneMatch(p -> Files.isDirectory(dir.resolve(p)) && variant.equals(
                WeightFiles.variantOf(WeightFiles.find(dir.resolve(p), variant).getFileName().toString()))))
            throw new UserError(dir + ": no component has " + variant + " weights (variant '" + variant + "' asked for)");
        var unet = UNet2DConditionModel.load(dir.resolve("unet"), variant);
        Vae vae = vaeDir == null ? Vae.load(dir.resolve("vae"), variant) : Vae.load(vaeDir);
        checkVae(unet, vae, vaeDir == null ? dir.resolve("vae") : vaeDir);
        return new StableDiffusionPipeline(dir, ClipTokenizer.load(dir.resolve("tokenizer")), ClipTextModel.load(dir.resolve("text_encoder"), variant),
            unet, vae, SchedulerConfig.read(schedulerFile), vaeDir);
    }

    /**
     * This model with {@code vae} in place of its VAE (for decoding, and encoding img2img's image): for comparing
     * decoders on the same latents. {@code origin}, its folder, becomes {@link #vaeSource} and names the VAE in the
     * error when it does not fit the UNet.
     */
    public StableDiffusionPipeline withVae(Vae vae, Path origin) {
        checkVae(unet, vae, origin);
        return new StableDiffusionPipeline(source, tokenizer, textEncoder, unet, vae, schedulerConfig, origin);
    }

    /** {@link #withVae} with the VAE of the diffusers folder {@code vaeDir} (AutoencoderKL or AutoencoderTiny). */
    public StableDiffusionPipeline withVae(Path vaeDir) { return withVae(Vae.load(vaeDir), vaeDir); }

    private static void checkVae(UNet2DConditionModel unet, Vae vae, Path origin) {
        if (vae.latentChannels() != unet.config.inChannels())
            throw new UserError(origin + ": a VAE with " + vae.latentChannels() + " latent channels, but the UNet takes "
                + unet.config.inChannels());
    }

    private static void checkIndex(Path index) {
        JsonNode root = JsonFiles.readObject(index);
        String cls = root.path("_class_name").asText("");
        if (!cls.isEmpty() && !cls.startsWith("StableDiffusion"))
            throw new UserError(index + ": _class_name " + cls + " is not a Stable Diffusion pipeline");
        if (root.has("text_encoder_2")) throw new UserError(index + ": this is an SDXL model (text_encoder_2); Stitch runs SD 1.x and SD2");
    }

    /** Default image size: the UNet's sample size times the VAE's downscale. */
    public int defaultSize() {
        long size = (long) unet.config.sampleSize() * vae.downscale();
        if (size > Integer.MAX_VALUE)
            throw new UserError(source + ": unet sample_size " + unet.config.sampleSize() + " times the VAE's downscale " + vae.downscale()
                + " is not a usable image size");
        return (int) size;
    }

    /**
     * Every tap of the three components with its layout and shape for one image of {@code width} × {@code height}
     * (batch 1), found by running the models on the shape-only backend: nothing is computed, so it is instant even
     * at full size.
     */
    public TapCatalog tapCatalog(int width, int height) {
        var shapes = ShapeBackend.INSTANCE;
        int down = vae.downscale(), h = height / down, w = width / down, ch = unet.config.inChannels();
        int[][] ids = {tokenizer.encode("")};
        return TapCatalog.record(shapes, c -> {
            Tensor embeds = textEncoder.forward(c, ids);
            unet.forward(c, shapes.fromHost(new float[ch * h * w], 1, ch, h, w), new float[] {1}, embeds);
            vae.decode(c, shapes.fromHost(new float[ch * h * w], 1, ch, h, w));
            int in = vae.inChannels();
            vae.encode(c, shapes.fromHost(new float[in * height * width], 1, in, height, width), null);
        });
    }

    /**
     * A request for {@code prompts} (one image each) on this model: set what differs from the defaults, then
     * {@code build()}. What is left unset comes from this model: its scheduler, spacing, prediction and size.
     */
    public GenerateRequest.Builder request(String... prompts) { return request(List.of(prompts)); }

    /** {@link #request(String...)} for a list of prompts. */
    public GenerateRequest.Builder request(List<String> prompts) { return new GenerateRequest.Builder(this, prompts); }

    /** Receives progress: denoising step {@code i} of {@code n} finished ({@code i = 0}: the denoising loop starts). */
    public interface Progress {
        void step(int i, int n);

        Progress NONE = (i, n) -> {};
    }

    /**
     * Checks {@code r} against this model without computing anything: image size, scheduler and step count, strength,
     * the shapes of the start latents and image. {@link GenerateRequest.Builder#build} and every run call it first.
     */
    public void check(GenerateRequest r) {
        int b = r.batch(), down = vae.downscale(), width = r.width(), height = r.height();
        if (width % down != 0) throw new ParameterError("width", width, "must be a multiple of " + down + " for this model's VAE");
        if (height % down != 0) throw new ParameterError("height", height, "must be a multiple of " + down + " for this model's VAE");
        checkSize(b, width, height, r.guided());
        Scheduler sched = scheduler(r, new TorchGenerator(r.seed()));
        if (r.initLatents() != null) latentsOf(r.initLatents(), b, unet.config.inChannels(), height / down, width / down);
        if (r.initImage() != null) {
            Tensor img = r.initImage();
            if (img.rank() != 4 || img.dim(0) != b || img.dim(1) != vae.inChannels() || img.dim(2) != height || img.dim(3) != width)
                throw new ParameterError("initImage", "shape " + Arrays.toString(img.shape()) + ", expected " + b + " image(s) of "
                    + vae.inChannels() + " x " + height + " x " + width);
            firstStep(r, sched.timesteps().length);
        }
    }

    /**
     * Refuses an image size whose arrays would not fit: tensors hold at most 2^31 − 1 values, and a size that wraps
     * around int arithmetic must be a clear message, not a negative array size deep inside a model.
     */
    private void checkSize(int batch, int width, int height, boolean guided) {
        int down = vae.downscale();
        try {
            long rows = guided ? 2L * batch : batch, largest = 0;
            largest = Math.max(largest, Math.multiplyExact(Math.multiplyExact(rows, unet.config.blockOutChannels().getFirst()),
                Math.multiplyExact((long) width / down, height / down)));
            largest = Math.max(largest, vae.largestActivation(batch, width, height));
            if (largest <= Integer.MAX_VALUE - 8) return;
        } catch (ArithmeticException e) {
            // too large, as below
        }
        throw new ParameterError("width", width + "x" + height, "too large for " + batch + " image(s) at once (the model's"
            + " activations would need arrays of more than 2^31 - 1 values); use a smaller size or fewer prompts");
    }

    /** The request's scheduler on the model's scheduler config with the request's spacing and prediction. */
    private Scheduler scheduler(GenerateRequest r, TorchGenerator gen) {
        SchedulerConfig cfg = schedulerConfig.withTimestepSpacing(r.timestepSpacing()).withPrediction(r.prediction());
        return Schedulers.create(r.scheduler(), cfg, r.steps(), gen);
    }

    /** img2img: the index of the first timestep run, as diffusers' Img2Img pipeline computes it from the strength. */
    private static int firstStep(GenerateRequest r, int timesteps) {
        int initSteps = Math.min((int) (r.steps() * r.strength()), r.steps());
        int first = Math.max(r.steps() - initSteps, 0) * (timesteps / r.steps());
        if (first >= timesteps)
            throw new ParameterError("strength", r.strength(), "leaves no denoising step of " + r.steps() + " (needs strength >= "
                + 1f / r.steps() + ")");
        return first;
    }

    /** Decoded pixels (width × height × batch) from which a generate call hands the heap its decode grew back. */
    static final long RELEASE_HEAP_PIXELS = 512L * 512;

    /**
     * Runs the request on {@code ops}; {@code taps} sees every module output with its {@link ModelCall}. A
     * {@link StableDiffusion} session calls this with its backend and hooks.
     */
    public GenerateResult generate(GenerateRequest r, Backend ops, Taps taps, Progress progress) {
        long start = System.nanoTime();
        Denoised d = denoise(r, ops, taps, progress, Integer.MAX_VALUE);
        long decodeStart = System.nanoTime();

        // 4. decode
        Ctx c = new Ctx(ops, taps, ModelCall.outside(TapContext.Rows.cond(d.batch)));
        float sf = vae.scalingFactor();
        float[] z = new float[d.latents.length];
        for (int i = 0; i < z.length; i++) z[i] = d.latents[i] / sf;
        int[] shape = {d.batch, unet.config.inChannels(), d.height / vae.downscale(), d.width / vae.downscale()};
        Tensor raw = vae.decode(c, ops.fromHost(z, shape));
        Tensor rawHost = Tensor.of(ops.toHost(raw).clone(), raw.shape());
        if (!finite(rawHost.data())) throw nonFinite("the VAE decoder's output (the image)");
        vae.unloadWeights();
        // A large decode grows the heap by gigabytes for activations that are garbage now; G1 keeps that heap
        // committed, so in a loop of images (eval, a study) the next UNet call's weights came on top of it (fp16 eval
        // at 512²: 3.7-3.9 GB against 3.0 GB for one image). A full collection here gives it back to the system;
        // with only the models' small objects live it takes a fraction of a second.
        if ((long) d.width * d.height * d.batch >= RELEASE_HEAP_PIXELS) System.gc();
        long end = System.nanoTime();
        var timings = new Timings(0, d.textEncoderSeconds, d.stepSeconds, (end - decodeStart) / 1e9, (end - start) / 1e9,
            Timings.peakRss());
        return new GenerateResult(Tensor.of(d.latents, shape), rawHost, Images.toUint8(rawHost), d.width, d.height, d.scheduler,
            d.timesteps, timings);
    }

    /**
     * Runs the request only as far as hooks need it: the text encoder and the denoising steps up to {@code lastStep}
     * (0-based, inclusive), then stops; nothing is decoded. Extracting activations at step 0 costs one UNet call;
     * {@code lastStep} −1 runs the text encoder only. Returns the latents after {@code lastStep} (or after the last
     * step, if the run has fewer).
     */
    public Tensor denoiseUntil(GenerateRequest r, Backend ops, Taps taps, Progress progress, int lastStep) {
        if (lastStep < -1) throw new IllegalArgumentException("lastStep " + lastStep + " < -1");
        Denoised d = denoise(r, ops, taps, progress, lastStep);
        return Tensor.of(d.latents, d.batch, unet.config.inChannels(), d.height / vae.downscale(), d.width / vae.downscale());
    }

    private record Denoised(float[] latents, int batch, int width, int height, SchedulerKind scheduler, float[] timesteps,
                            double textEncoderSeconds, double[] stepSeconds) {}

    private Denoised denoise(GenerateRequest r, Backend ops, Taps taps, Progress progress, int lastStep) {
        check(r);
        Ctx c = new Ctx(ops, taps);
        int b = r.batch(), down = vae.downscale();
        int width = r.width(), height = r.height();
        int h = height / down, w = width / down, ch = unet.config.inChannels();
        boolean guided = r.guided();

        // 1. prompts → embeddings [2B, 77, C]: unconditional rows first, as diffusers concatenates them
        int[][] cond = new int[b][], uncond = new int[b][];
        for (int i = 0; i < b; i++) {
            cond[i] = tokenizer.encode(r.prompts().get(i), r.tokenizerMode());
            uncond[i] = tokenizer.encode(r.negative(i), r.tokenizerMode());
        }
        long encodeStart = System.nanoTime();
        Tensor embeds;
        if (guided) {
            int[][] both = new int[2 * b][];
            System.arraycopy(uncond, 0, both, 0, b);
            System.arraycopy(cond, 0, both, b, b);
            embeds = textEncoder.forward(c.at(ModelCall.outside(TapContext.Rows.cfg(b).withTokens(both))), both);
        } else {
            embeds = textEncoder.forward(c.at(ModelCall.outside(TapContext.Rows.cond(b).withTokens(cond))), cond);
        }
        if (!finite(ops.toHost(embeds))) throw nonFinite("the text encoder's output (the prompt embeddings)");
        // each model's weights count towards the process's memory only while it runs: a full-size SD2's three never
        // sit in memory together (the next use maps them back from the page cache)
        textEncoder.unloadWeights();
        double textEncoderSeconds = (System.nanoTime() - encodeStart) / 1e9;

        // 2. scheduler and starting latents
        TorchGenerator gen = new TorchGenerator(r.seed());
        Scheduler sched = scheduler(r, gen);
        float[] ts = sched.timesteps();
        int first = 0;
        int n = b * ch * h * w;
        float[] latents;
        if (r.initImage() != null) {
            // img2img: encode, scale, then noise to the level of the first kept timestep (diffusers' Img2Img order)
            Tensor img = r.initImage();
            Ctx enc = c.at(ModelCall.outside(TapContext.Rows.cond(b)));
            // AutoencoderKL draws its sample from the generator first; AutoencoderTiny draws nothing (diffusers' order)
            float[] sample = ops.toHost(vae.encode(enc, ops.fromHost(img.data().clone(), img.shape()), gen));
            float sf = vae.scalingFactor();
            float[] init = new float[n];
            for (int i = 0; i < n; i++) init[i] = sample[i] * sf;
            if (!finite(init)) throw nonFinite("the VAE encoder's latents of --init-image");
            first = firstStep(r, ts.length);
            float[] noise = r.initLatents() != null ? latentsOf(r.initLatents(), b, ch, h, w) : gen.randn(n);
            latents = sched.addNoise(init, noise, first);
        } else {
            float[] noise = r.initLatents() != null ? latentsOf(r.initLatents(), b, ch, h, w) : gen.randn(n);
            float sigma = sched.initNoiseSigma();
            latents = new float[n];
            for (int i = 0; i < n; i++) latents[i] = noise[i] * sigma;
        }

        // 3. denoising with classifier-free guidance
        TapContext.Rows rows = guided ? TapContext.Rows.cfg(b) : TapContext.Rows.cond(b);
        int end = (int) Math.min(ts.length, lastStep + 1L);
        progress.step(0, end - first);
        double[] stepSeconds = new double[Math.max(0, end - first)];
        for (int i = first; i < end; i++) {
            long stepStart = System.nanoTime();
            Ctx step = c.at(ModelCall.step(i, ts[i], rows));
            float[] in = sched.scaleModelInput(latents, i);
            float[] x = guided ? concat(in, in) : in;
            float[] t = new float[guided ? 2 * b : b];
            Arrays.fill(t, ts[i]);
            float[] out = ops.toHost(unet.forward(step, ops.fromHost(x, guided ? 2 * b : b, ch, h, w), t, embeds));
            float[] model;
            if (guided) {
                model = new float[n];
                float g = r.guidance();
                for (int k = 0; k < n; k++) {
                    float u = out[k], co = out[n + k];
                    model[k] = u + g * (co - u);   // float32 in the same order as diffusers
                }
            } else model = out.clone();
            latents = sched.step(model, i, latents);
            // once per step, on the host copy at hand: NaN weights, a steering edit or a broken schedule stop here
            if (!finite(latents)) throw nonFiniteStep(r, i, ts.length, step, x, t, embeds, out, model);
            stepSeconds[i - first] = (System.nanoTime() - stepStart) / 1e9;
            progress.step(i - first + 1, end - first);
        }
        unet.unloadWeights();
        return new Denoised(latents, b, width, height, r.scheduler(), ts, textEncoderSeconds, stepSeconds);
    }

    private static boolean finite(float[] v) {
        for (float x : v) if (!Float.isFinite(x)) return false;
        return true;
    }

    private UserError nonFinite(String where) {
        return new UserError("non-finite values (NaN or infinity) in " + where + "; the model's weights may hold NaN or infinity ("
            + source + ")");
    }

    /**
     * The error for latents that turned non-finite at denoising step {@code i}, naming where: the first UNet tap whose
     * value is non-finite (found by running this step's UNet call again, editors applied, observers skipped, so
     * nothing is recorded twice), or else guidance or the scheduler's step. Runs only on this failure path.
     */
    private UserError nonFiniteStep(GenerateRequest r, int i, int steps, Ctx step, float[] x, float[] t, Tensor embeds,
                                    float[] out, float[] model) {
        Backend ops = step.ops();
        String at = "the latents after denoising step " + i + " (0-based) of " + steps;
        if (finite(out) && !finite(model))
            return new UserError("non-finite values (NaN or infinity) in " + at + ": classifier-free guidance at guidance "
                + r.guidance() + " overflowed");
        if (finite(out))
            return new UserError("non-finite values (NaN or infinity) in " + at + ": the UNet's output was finite, the "
                + r.scheduler() + " scheduler's step was not (check " + schedulerConfig.source() + ")");
        Taps base = step.taps() instanceof HookedTaps h ? h.editorsOnly() : step.taps();
        Taps watch = (name, layout, value, call) -> {
            if (!finite(ops.toHost(value))) throw new FoundNonFinite(name, "the module's own output");
            Tensor edited = base.at(name, layout, value, call);
            if (edited != value && !finite(ops.toHost(edited)))
                throw new FoundNonFinite(name, "a hook registered there (a steering edit?) made it so");
            return edited;
        };
        try {
            int down = vae.downscale();
            unet.forward(new Ctx(ops, watch, step.call()), ops.fromHost(x, t.length, unet.config.inChannels(), r.height() / down, r.width() / down),
                t, embeds);
        } catch (FoundNonFinite found) {
            return new UserError("non-finite values (NaN or infinity) in " + at + ", first at tap " + found.tap + " (" + found.why + ")");
        }
        return new UserError("non-finite values (NaN or infinity) in " + at + " (the UNet's output; the model's weights may hold"
            + " NaN or infinity: " + source + ")");
    }

    /** Stops the re-run of {@link #nonFiniteStep} at the first non-finite tap. */
    private static final class FoundNonFinite extends RuntimeException {
        final String tap, why;

        FoundNonFinite(String tap, String why) {
            super(null, null, false, false);
            this.tap = tap;
            this.why = why;
        }
    }

    private static float[] latentsOf(Tensor t, int b, int ch, int h, int w) {
        if (!Arrays.equals(t.shape(), new int[] {b, ch, h, w}))
            throw new ParameterError("initLatents", "shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(new int[] {b, ch, h, w}));
        float[] d = t.data().clone();
        for (float v : d) if (!Float.isFinite(v)) throw new ParameterError("initLatents", "has non-finite values");
        return d;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** PNG text chunks describing how an image was made, in a fixed order (so the same run gives the same bytes). */
    public static Map<String, String> pngText(GenerateRequest r, int row, GenerateResult res, Path model) {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("prompt", r.prompts().get(row));
        text.put("negative_prompt", r.negative(row));
        text.put("seed", Long.toString(r.seed()));
        text.put("steps", Integer.toString(r.steps()));
        text.put("scheduler", res.scheduler().label);
        text.put("guidance", Float.toString(r.guidance()));
        text.put("model", model == null ? "" : model.getFileName().toString());
        text.put("software", "Stitch");
        return text;
    }
}
