package dev.stitch.steering;

import dev.stitch.kernels.ParameterError;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.random.TorchGenerator;
import dev.stitch.engine.taps.Cache;
import dev.stitch.engine.taps.CaptureKey;
import dev.stitch.engine.taps.CfgHalf;
import dev.stitch.engine.taps.HookedTaps;
import dev.stitch.engine.taps.Reduction;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.ParameterError;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Pooled activations of paired prompts, the input of extraction and of layer scoring. Pair i's positive
 * and negative prompt start from the same noise — the noise {@code generate --seed S+i} would draw, or the given
 * {@code --init-latents} — and run in batches of a few pairs. Each tap is pooled per prompt: the spatial mean for
 * UNet taps ([B, C, H, W] over H·W, [B, L, C] over L), and for text-encoder taps the mean over all 77 positions or
 * the positions {@code tokens} names. Rows come from the conditional half by default; {@code both} averages the two
 * halves. UNet taps are kept per recorded step, or averaged over the recorded steps; the denoising loop stops after
 * the last recorded step (docs/design.md §5). A tensor two selected taps name (see {@link TapCatalog.Entry#aliasOf})
 * is read once, under the first name in call order, so that a file made from it never steers one tensor twice.
 */
public final class PairedActivations {
    /**
     * How activations are taken.
     *
     * @param steps   the denoising steps recorded ({@code --at-steps})
     * @param perStep keep one slice per recorded step instead of their mean
     * @param half    which CFG rows are pooled: cond (default), uncond, or both (their mean)
     * @param tokens  text-encoder pooling: {@code all} (mean over the 77 positions), {@code last}, {@code eos}, or
     *                positions {@code I,J,...} (their mean)
     * @param batch   pairs per model call
     */
    public record Options(StepSet steps, boolean perStep, SteeringPlan.Half half, String tokens, int batch) {
        public Options {
            if (batch < 1) throw new ParameterError("batch", batch, "must be at least 1");
        }

        public static Options defaults() { return new Options(StepSet.ALL, false, SteeringPlan.Half.COND, "all", 4); }
    }

    private final List<String> taps;
    private final Map<String, int[]> sliceSteps;        // per tap: the step of each slice, {-1} for one slice
    private final Map<String, float[][][]> pos, neg;    // per tap: [slice][pair][C]
    private final int pairs;
    private final Map<String, String> provenance;       // how they were taken, as steering-file metadata
    private final Map<String, String> aliasesSkipped;
    private final boolean incremental;                  // each tap captured with the earlier taps' transports applied

    private PairedActivations(List<String> taps, Map<String, int[]> sliceSteps, Map<String, float[][][]> pos,
                              Map<String, float[][][]> neg, int pairs, Map<String, String> provenance, Map<String, String> aliasesSkipped,
                              boolean incremental) {
        this.taps = taps;
        this.sliceSteps = sliceSteps;
        this.pos = pos;
        this.neg = neg;
        this.pairs = pairs;
        this.provenance = provenance;
        this.aliasesSkipped = aliasesSkipped;
        this.incremental = incremental;
    }

    /** Receives progress: {@code done} of {@code total} pairs captured. */
    public interface Progress {
        void pairs(int done, int total);

        Progress NONE = (d, t) -> {};
    }

    /**
     * Runs every pair through {@code sd} with the settings of {@code base} (steps, guidance, scheduler, size,
     * seed, CFG negative prompt, init latents; its prompts are ignored) and pools the taps {@code tapPattern} selects.
     * Hooks registered on {@code sd} run too, before the capture's.
     */
    public static PairedActivations capture(StableDiffusion sd, GenerateRequest base, List<String> positives,
                                            List<String> negatives, String tapPattern, Options o, Progress progress) {
        if (positives.isEmpty() || negatives.size() != positives.size())
            throw new IllegalArgumentException(positives.size() + " positives, " + negatives.size() + " negatives");
        List<PromptPairs.Pair> p = new ArrayList<>();
        for (int i = 0; i < positives.size(); i++) p.add(new PromptPairs.Pair(positives.get(i), negatives.get(i)));
        return capture(sd, base, new PromptPairs(p), tapPattern, o, progress);
    }

    /** {@link #capture(StableDiffusion, GenerateRequest, List, List, String, Options, Progress)} of these pairs. */
    public static PairedActivations capture(StableDiffusion sd, GenerateRequest base, PromptPairs pairs, String tapPattern, Options o,
                                            Progress progress) {
        StableDiffusionPipeline pipe = sd.model();
        List<String> positives = pairs.positives(), negatives = pairs.negatives();
        int n = positives.size();
        if (base.initImage() != null) throw new ParameterError("initImage", "extraction runs text-to-image only");
        if (base.negativePrompts().size() > 1)
            throw new ParameterError("negativePrompt", "give at most one (it applies to every prompt of every pair)");
        int width = base.width(), height = base.height();
        Map<String, String> aliasesSkipped = new LinkedHashMap<>();
        List<String> taps = select(pipe.tapCatalog(width, height), tapPattern, aliasesSkipped);
        List<String> text = taps.stream().filter(t -> LayerGroup.of(t) == LayerGroup.TEXT).toList();
        List<String> unet = taps.stream().filter(t -> t.startsWith("unet.")).toList();
        List<String> other = taps.stream().filter(t -> !text.contains(t) && !unet.contains(t)).toList();
        if (!other.isEmpty())
            throw new ParameterError("taps", tapPattern, "selects " + other.get(0) + (other.size() > 1 ? " and " + (other.size() - 1) + " more" : "")
                + "; extraction reads text_encoder and unet taps only (the VAE runs after denoising)");
        StepSet steps = o.steps().within(base.steps());
        int[] recorded = IntStream.range(0, base.steps()).filter(steps::contains).toArray();
        if (!unet.isEmpty() && recorded.length == 0) throw new ParameterError("steps", steps, "records no step of " + base.steps());
        int lastStep = unet.isEmpty() ? -1 : recorded[recorded.length - 1];
        Reduction textReduction = textReduction(o.tokens());

        int ch = pipe.unet.config.inChannels(), h = height / pipe.vae.downscale(), w = width / pipe.vae.downscale();
        int latent = ch * h * w;
        Tensor init = base.initLatents();
        if (init != null && !(init.rank() == 4 && (init.dim(0) == 1 || init.dim(0) == n) && init.dim(1) == ch && init.dim(2) == h && init.dim(3) == w))
            throw new ParameterError("initLatents", "shape " + Arrays.toString(init.shape()) + ", expected [1 or " + n + " (one per pair), "
                + ch + ", " + h + ", " + w + "]");

        Map<String, int[]> sliceSteps = new LinkedHashMap<>();
        Map<String, float[][][]> pos = new LinkedHashMap<>(), neg = new LinkedHashMap<>();
        for (String t : taps) {
            int[] s = unet.contains(t) && o.perStep() ? recorded : new int[] {-1};
            sliceSteps.put(t, s);
            pos.put(t, new float[s.length][n][]);
            neg.put(t, new float[s.length][n][]);
        }
        CfgHalf[] halves = switch (o.half()) {
            case COND -> new CfgHalf[] {CfgHalf.COND};
            case UNCOND -> new CfgHalf[] {CfgHalf.UNCOND};
            case BOTH -> new CfgHalf[] {CfgHalf.COND, CfgHalf.UNCOND};
        };
        if (o.half() == SteeringPlan.Half.UNCOND && !base.guided())
            throw new ParameterError("half", "uncond", "guidance " + base.guidance() + " runs no unconditional pass");

        for (int first = 0; first < n; first += o.batch()) {
            int m = Math.min(o.batch(), n - first);
            List<String> prompts = new ArrayList<>(2 * m);
            float[] noise = new float[2 * m * latent];
            for (int j = 0; j < m; j++) {
                prompts.add(positives.get(first + j));
                prompts.add(negatives.get(first + j));
                float[] z = noiseOf(first + j, base, init, latent);
                System.arraycopy(z, 0, noise, 2 * j * latent, latent);
                System.arraycopy(z, 0, noise, (2 * j + 1) * latent, latent);
            }
            GenerateRequest r = base.toBuilder().prompts(prompts).size(width, height).initLatents(Tensor.of(noise, 2 * m, ch, h, w)).build();
            Cache cache = new Cache();
            List<HookedTaps.Registration> regs = new ArrayList<>();
            try {
                if (!text.isEmpty()) regs.add(sd.hooks(String.join(",", text), cache.capture(textReduction).halves(halves)));
                if (!unet.isEmpty()) {
                    var c = cache.capture(Reduction.MEAN).halves(halves).steps(steps);
                    regs.add(sd.hooks(String.join(",", unet), o.perStep() ? c : c.meanOverSteps()));
                }
                sd.denoiseUntil(r, lastStep);
            } finally {
                regs.forEach(HookedTaps.Registration::close);
            }
            for (String t : taps) {
                int[] s = sliceSteps.get(t);
                for (int k = 0; k < s.length; k++) {
                    float[][] rows = pooled(cache, t, s[k], halves, 2 * m);
                    for (int j = 0; j < m; j++) {
                        pos.get(t)[k][first + j] = rows[2 * j];
                        neg.get(t)[k][first + j] = rows[2 * j + 1];
                    }
                }
            }
            progress.pairs(first + m, n);
        }
        return new PairedActivations(taps, sliceSteps, pos, neg, n, provenance(pipe, base, pairs, tapPattern, o, width, height), aliasesSkipped, false);
    }

    /** The taps {@code pattern} selects in call order, each tensor once: a later name of a tensor goes to {@code skipped}. */
    private static List<String> select(TapCatalog catalog, String pattern, Map<String, String> skipped) {
        List<String> taps = new ArrayList<>();
        for (String t : catalog.resolve(pattern)) {
            String kept = catalog.aliases(t).stream().filter(taps::contains).findFirst().orElse(null);
            if (kept != null) skipped.put(t, kept);
            else taps.add(t);
        }
        return taps;
    }

    /**
     * The activations {@link Method#ACT_LINEAR_INCREMENTAL} is fitted on, as apple/ml-act's "incr" mode learns its
     * interventions: the taps in call order, tap k captured (like {@link #capture}) while the Linear-AcT transports
     * already fitted at taps 1..k−1 steer the model as the file will by default (operator act, strength 1, every
     * step, both CFG halves), for the positive and the negative prompts alike. The first tap's activations are those
     * of {@link #capture}; a later tap sees what the earlier transports made of its input. One capture per tap, so it
     * costs as many passes over the pairs as there are taps.
     */
    public static PairedActivations captureIncremental(StableDiffusion sd, GenerateRequest base, PromptPairs pairs, String tapPattern,
                                                       Options o, Progress progress) {
        StableDiffusionPipeline pipe = sd.model();
        Map<String, String> aliasesSkipped = new LinkedHashMap<>();
        List<String> taps = select(pipe.tapCatalog(base.width(), base.height()), tapPattern, aliasesSkipped);
        Map<String, int[]> sliceSteps = new LinkedHashMap<>();
        Map<String, float[][][]> pos = new LinkedHashMap<>(), neg = new LinkedHashMap<>();
        Map<String, SteeringFile.TapVector> fitted = new LinkedHashMap<>();
        int n = pairs.size();
        for (int k = 0; k < taps.size(); k++) {
            String t = taps.get(k);
            int before = k * n;
            PairedActivations one;
            SteeringPlan earlier = fitted.isEmpty() ? null : SteeringPlan.defaults(new SteeringFile(Map.of(), new LinkedHashMap<>(fitted)), 1f);
            try (SteeringPlan.Registered reg = earlier == null ? () -> {} : earlier.register(sd.taps())) {
                one = capture(sd, base, pairs, t, o, (done, total) -> progress.pairs(before + done, taps.size() * n));
            }
            int[] s = one.sliceSteps.get(t);
            sliceSteps.put(t, s);
            pos.put(t, one.pos.get(t));
            neg.put(t, one.neg.get(t));
            Transport[] tr = new Transport[s.length];
            for (int j = 0; j < s.length; j++) tr[j] = Extraction.extract(Method.ACT_LINEAR_INCREMENTAL, one.pos.get(t)[j], one.neg.get(t)[j]).transport();
            fitted.put(t, new SteeringFile.TapVector(t, null, tr, s.length > 1 ? s.clone() : null));
        }
        return new PairedActivations(taps, sliceSteps, pos, neg, n, provenance(pipe, base, pairs, tapPattern, o, base.width(), base.height()),
            aliasesSkipped, true);
    }

    /** What a steering file records of how its activations were taken (docs/steering.md, the steering file). */
    private static Map<String, String> provenance(StableDiffusionPipeline pipe, GenerateRequest base, PromptPairs pairs, String tapPattern,
                                                  Options o, int width, int height) {
        Map<String, String> md = new LinkedHashMap<>();
        if (pipe.source != null) md.putAll(SteeringFile.modelIdentity(pipe.source));
        md.put(SteeringFile.PROMPTS, pairs.sha256());
        md.put("pairs", Integer.toString(pairs.size()));
        md.put("taps", tapPattern);
        md.put("at_steps", o.steps().toString());
        md.put("per_step", Boolean.toString(o.perStep()));
        md.put("extract_half", o.half().name().toLowerCase(Locale.ROOT));
        md.put("tokens", o.tokens());
        md.put("seed", Long.toString(base.seed()));
        md.put("steps", Integer.toString(base.steps()));
        md.put("guidance", Float.toString(base.guidance()));
        md.put("scheduler", base.scheduler().label);
        md.put("width", Integer.toString(width));
        md.put("height", Integer.toString(height));
        md.put("negative_prompt", base.negative(0));
        return md;
    }

    /** The starting noise of pair {@code i}: the given latents (one for all pairs, or one per pair), else seed + i. */
    private static float[] noiseOf(int i, GenerateRequest base, Tensor init, int latent) {
        if (init == null) return new TorchGenerator(base.seed() + i).randn(latent);
        float[] d = init.data();
        int row = init.dim(0) == 1 ? 0 : i;
        return Arrays.copyOfRange(d, row * latent, (row + 1) * latent);
    }

    static Reduction textReduction(String tokens) {
        return switch (tokens.strip()) {
            case "all" -> Reduction.MEAN;
            case "last" -> Reduction.LAST_TOKEN;
            case "eos" -> Reduction.EOS_TOKEN;
            default -> {
                try {
                    yield Reduction.tokens(Arrays.stream(tokens.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray());
                } catch (NumberFormatException e) {
                    throw new ParameterError("tokens", tokens, "expected all, last, eos or token positions like 0,5,6");
                }
            }
        };
    }

    /** One [C] row per prompt of the chunk: the captured halves averaged, token positions averaged. */
    private static float[][] pooled(Cache cache, String tap, int step, CfgHalf[] halves, int prompts) {
        double[][] sum = null;
        int count = 0;
        for (CfgHalf half : halves) {
            CaptureKey key = new CaptureKey(tap, step, half);
            if (!cache.contains(key)) continue;   // unguided runs have no unconditional rows
            Tensor t = cache.get(key);
            float[] x = t.data();
            int c = t.dim(-1), per = x.length / prompts / c;   // per: 1, or the number of chosen token positions
            if (sum == null) sum = new double[prompts][c];
            for (int r = 0; r < prompts; r++)
                for (int p = 0; p < per; p++)
                    for (int j = 0; j < c; j++) sum[r][j] += x[(r * per + p) * c + j] / (double) per;
            count++;
        }
        if (sum == null) throw new IllegalStateException("nothing captured at " + tap + " step " + step);
        float[][] out = new float[prompts][sum[0].length];
        for (int r = 0; r < prompts; r++)
            for (int j = 0; j < out[r].length; j++) out[r][j] = count == 1 ? (float) sum[r][j] : (float) (sum[r][j] / count);
        return out;
    }

    public List<String> taps() { return taps; }

    /** Whether each tap was captured with the earlier taps' transports applied ({@link #captureIncremental}). */
    public boolean incremental() { return incremental; }

    public int pairs() { return pairs; }

    /** Taps the pattern selected but that name a tensor already read under another name: skipped name → the name kept. */
    public Map<String, String> aliasesSkipped() { return Collections.unmodifiableMap(aliasesSkipped); }

    /** The denoising step of each slice of {@code tap}: the recorded steps with {@code perStep}, else {−1}. */
    public int[] steps(String tap) { return sliceSteps.get(tap).clone(); }

    /** [pair][C] pooled positives of slice {@code slice}. */
    public float[][] positive(String tap, int slice) { return pos.get(tap)[slice]; }

    public float[][] negative(String tap, int slice) { return neg.get(tap)[slice]; }

    /** [pair][C] pooled activations averaged over the slices of {@code tap} (the slice itself when there is one). */
    public float[][] positive(String tap) { return meanOverSlices(pos.get(tap)); }

    public float[][] negative(String tap) { return meanOverSlices(neg.get(tap)); }

    private static float[][] meanOverSlices(float[][][] x) {
        if (x.length == 1) return x[0];
        int n = x[0].length, c = x[0][0].length;
        float[][] out = new float[n][c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                double s = 0;
                for (float[][] slice : x) s += slice[i][j];
                out[i][j] = (float) (s / x.length);
            }
        return out;
    }

    /** LayerNavigator's score per tap, in tap order, on the activations averaged over the recorded steps. */
    public Map<String, LayerScore> scores() {
        Map<String, LayerScore> out = new LinkedHashMap<>();
        for (String t : taps) out.put(t, LayerScore.of(positive(t), negative(t)));
        return out;
    }

    /**
     * The metadata {@link #extract(Method)} writes: how the file applies by default (the method's operator at
     * strength 1, every step, both CFG halves), how the activations were taken, and the layer scores.
     */
    public Map<String, String> metadata(Method method) {
        Map<String, String> md = new LinkedHashMap<>();
        md.put(SteeringFile.METHOD, method.cliName);
        md.put(SteeringFile.OPERATOR, method.isTransport() ? Operator.ACT.cliName : Operator.ADD.cliName);
        md.put(SteeringFile.STRENGTH, "1");
        md.put(SteeringFile.WINDOW, "all");
        md.put(SteeringFile.HALF, "both");
        md.putAll(provenance);
        md.put(SteeringFile.SCORES, SteeringFile.scoresJson(scores()));
        return md;
    }

    /** The steering file {@code stitch extract} writes: every tap's vector (or transport) and {@link #metadata}. */
    public SteeringFile extract(Method method) { return extract(method, metadata(method)); }

    /**
     * One vector (or transport) per tap and slice with {@code method}; {@code metadata} goes into the file as is.
     * Per-step taps get [S, C] rows, recorded at {@link #steps(String)}.
     */
    public SteeringFile extract(Method method, Map<String, String> metadata) {
        if (method.isIncremental() != incremental)
            throw new IllegalArgumentException(incremental ? "these activations were captured incrementally, for " + Method.ACT_LINEAR_INCREMENTAL.cliName + " only"
                : method.cliName + " is fitted on activations from captureIncremental");
        Map<String, SteeringFile.TapVector> out = new LinkedHashMap<>();
        for (String t : taps) {
            int[] s = sliceSteps.get(t);
            float[][] vectors = method.isTransport() ? null : new float[s.length][];
            Transport[] transports = method.isTransport() ? new Transport[s.length] : null;
            for (int k = 0; k < s.length; k++) {
                Extraction.Result r = Extraction.extract(method, pos.get(t)[k], neg.get(t)[k]);
                if (vectors != null) vectors[k] = r.direction();
                else transports[k] = r.transport();
            }
            out.put(t, new SteeringFile.TapVector(t, vectors, transports, s.length > 1 ? s.clone() : null));
        }
        return new SteeringFile(new LinkedHashMap<>(metadata), out);
    }
}
