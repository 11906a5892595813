package dev.stitch.convert;

import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Reads an original checkpoint's architecture (SD 1.x or SD2) from its tensors (family, channels, levels, attention
 * placement, widths) and, where the tensors cannot tell, from the LDM yaml beside it (head counts, prediction type,
 * sample size, schedule) or from a diffusers folder's configs ({@link #fromConfigs}, {@code --config-from}).
 * Every choice that is not forced by a tensor shape is recorded as a decision line that says why.
 */
public final class ConfigInference {
    /** Everything the diffusers configs need, plus the reasons. */
    public record Inferred(
        LdmNames.Layout layout,
        int unetIn, int unetOut, int[] unetChannels, int crossAttentionDim, boolean linearProjection, int[] heads,
        int vaeIn, int vaeOut, int latentChannels, int[] vaeChannels,
        int textWidth, int textHeads, int textIntermediate, int textPositions, int textVocab,
        Prediction prediction, int sampleSize, double scaleFactor, double betaStart, double betaEnd, int trainTimesteps,
        List<String> decisions, List<String> warnings) {

        /**
         * The same with the prediction type settled ({@code why} is its decision line, or null if already recorded);
         * a sample size not given by the yaml follows from it: 96 latents (768 px) for v, 64 (512 px) for epsilon.
         */
        public Inferred withPrediction(Prediction p, String why) {
            List<String> d = new ArrayList<>(decisions);
            if (why != null) d.add(why);
            int size = sampleSize;
            if (size == 0) {
                size = p == Prediction.V_PREDICTION ? 96 : 64;
                d.add("sample size: " + size + " latents (" + size * 8 + " px, SD2's size for " + p + " prediction)");
            }
            return new Inferred(layout, unetIn, unetOut, unetChannels, crossAttentionDim, linearProjection, heads, vaeIn, vaeOut,
                latentChannels, vaeChannels, textWidth, textHeads, textIntermediate, textPositions, textVocab, p, size, scaleFactor,
                betaStart, betaEnd, trainTimesteps, List.copyOf(d), warnings);
        }
    }

    /** SD2 uses 64-wide attention heads everywhere; no tensor records the head count. */
    static final int SD2_HEAD_DIM = 64;
    /** SD 1.x uses 8 heads on every level (v1-inference.yaml num_heads: 8), whatever their width. */
    static final int SD1_HEADS = 8;
    /** CLIP ViT-L/14's text encoder, SD 1.x's: 64-wide heads (768 = 12 x 64). */
    static final int CLIP_HEAD_DIM = 64;

    private final Checkpoint ck;
    private final Map<String, Object> yaml;
    private final String yamlName;
    private final List<String> decisions = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    private ConfigInference(Checkpoint ck, Map<String, Object> yaml, Path yamlPath) {
        this.ck = ck;
        this.yaml = yaml;
        this.yamlName = yamlPath == null ? null : String.valueOf(yamlPath.getFileName());
    }

    /**
     * Infers the configuration. {@code yaml} may be null (no yaml found); {@code prediction} may be null (decide from
     * the yaml or the file name, else ask for the flag).
     */
    public static Inferred infer(Checkpoint ck, Map<String, Object> yaml, Path yamlPath, Prediction prediction) {
        return new ConfigInference(ck, yaml, yamlPath).run(prediction);
    }

    /**
     * The checkpoint's family (SD 1.x or SD2), from its text encoder's names; refuses other model families and files
     * that are not whole original checkpoints, before anything else is looked at.
     */
    public static LdmNames.Family family(Checkpoint ck) {
        var keys = ck.tensors().keySet();
        Path f = ck.file();
        if (keys.stream().anyMatch(k -> k.startsWith("conditioner.embedders.")))
            throw new UserError(f + ": an SDXL checkpoint (it has 'conditioner.embedders.*'); Stitch converts SD 1.x and SD2 models only");
        if (keys.stream().noneMatch(k -> k.startsWith(LdmNames.UNET))) {
            if (keys.stream().anyMatch(k -> k.startsWith("down_blocks.") || k.startsWith("text_model.") || k.startsWith("encoder.down_blocks.")))
                throw new UserError(f + ": a diffusers component file, not an original checkpoint; use the diffusers folder it belongs to as is");
            throw new UserError(f + ": no 'model.diffusion_model.*' tensors, so not an original Stable Diffusion checkpoint");
        }
        LdmNames.Family family;
        if (keys.stream().anyMatch(k -> k.startsWith(LdmNames.TEXT + "transformer.resblocks."))) family = LdmNames.Family.SD2;
        else if (keys.stream().anyMatch(k -> k.startsWith(LdmNames.TEXT_V1 + "text_model.encoder.layers."))) family = LdmNames.Family.SD1;
        else if (keys.stream().anyMatch(k -> k.startsWith(LdmNames.TEXT_V1)))
            throw new UserError(f + ": its SD 1.x text encoder ('cond_stage_model.transformer.*') has no 'text_model.encoder.layers.*' tensors"
                + " (incomplete, or an older layout that is not supported)");
        else throw new UserError(f + ": no text encoder (SD2's 'cond_stage_model.model.transformer.resblocks.*' or SD 1.x's "
            + "'cond_stage_model.transformer.text_model.*'), so a UNet-only file that cannot be converted to a full model");
        if (keys.stream().noneMatch(k -> k.startsWith(LdmNames.VAE + "decoder.")))
            throw new UserError(f + ": no VAE ('first_stage_model.decoder.*') in this checkpoint");
        return family;
    }

    /** What the tensors alone say about the model. */
    private record Shapes(LdmNames.Layout layout, int unetIn, int unetOut, int[] channels, int crossDim, boolean linear,
                          int vaeIn, int vaeOut, int latent, int[] vaeChannels,
                          int textWidth, int textIntermediate, int textPositions, int textVocab) {}

    private Shapes shapes() {
        LdmNames.Family family = family(ck);
        String u = LdmNames.UNET;

        // ---- UNet ----
        long[] convIn = shape(u + "input_blocks.0.0.weight");
        int unetIn = (int) convIn[1];
        if (unetIn != 4)
            throw new UserError(ck.file() + ": the UNet takes " + unetIn + " input channels (an inpainting or depth model); only text-to-image models (4 channels) are supported");
        int unetOut = (int) shape(u + "out.2.weight")[0];
        int inputBlocks = 1 + maxIndex(Pattern.compile(Pattern.quote(u) + "input_blocks\\.(\\d+)\\."));
        TreeSet<Integer> ops = indices(Pattern.compile(Pattern.quote(u) + "input_blocks\\.(\\d+)\\.0\\.op\\.weight"));
        int levels = ops.size() + 1;
        int layers = (inputBlocks - 1 - ops.size()) / levels;
        if (layers < 1 || 1 + levels * layers + ops.size() != inputBlocks)
            throw new UserError(ck.file() + ": UNet input_blocks (" + inputBlocks + ") do not form levels of equal resnet counts");
        for (int i = 0; i < levels - 1; i++)
            if (!ops.contains((i + 1) * (layers + 1)))
                throw new UserError(ck.file() + ": expected a downsampler at input_blocks." + (i + 1) * (layers + 1) + " (levels of " + layers + " resnets)");
        int outputBlocks = 1 + maxIndex(Pattern.compile(Pattern.quote(u) + "output_blocks\\.(\\d+)\\."));
        if (outputBlocks != levels * (layers + 1))
            throw new UserError(ck.file() + ": " + outputBlocks + " UNet output_blocks, expected " + levels * (layers + 1));
        boolean[] attention = new boolean[levels];
        int[] channels = new int[levels];
        int firstAttn = -1;
        for (int i = 0; i < levels; i++) {
            int k = 1 + i * (layers + 1);
            attention[i] = ck.contains(u + "input_blocks." + k + ".1.proj_in.weight");
            if (attention[i] && firstAttn < 0) firstAttn = k;
            channels[i] = (int) shape(u + "input_blocks." + k + ".0.out_layers.3.weight")[0];
        }
        String attnPrefix = firstAttn < 0 ? u + "middle_block.1." : u + "input_blocks." + firstAttn + ".1.";
        int depth = 1 + maxIndex(Pattern.compile(Pattern.quote(attnPrefix) + "transformer_blocks\\.(\\d+)\\."));
        if (depth < 1) throw new UserError(ck.file() + ": no transformer blocks under " + attnPrefix);
        int crossDim = (int) shape(attnPrefix + "transformer_blocks.0.attn2.to_k.weight")[1];
        boolean linear = shape(attnPrefix + "proj_in.weight").length == 2;
        long timeDim = shape(u + "time_embed.0.weight")[0];
        if (timeDim != 4L * convIn[0])
            throw new UserError(ck.file() + ": time embedding width " + timeDim + " is not 4 x " + convIn[0] + " as in Stable Diffusion");
        if (channels[0] != convIn[0]) throw new UserError(ck.file() + ": first level has " + channels[0] + " channels, conv_in " + convIn[0]);

        // ---- VAE ----
        String v = LdmNames.VAE;
        int vaeLevels = 1 + maxIndex(Pattern.compile(Pattern.quote(v) + "encoder\\.down\\.(\\d+)\\."));
        int vaeLayers = 1 + maxIndex(Pattern.compile(Pattern.quote(v) + "encoder\\.down\\.0\\.block\\.(\\d+)\\."));
        if (vaeLevels < 1 || vaeLayers < 1) throw new UserError(ck.file() + ": no VAE encoder levels ('first_stage_model.encoder.down.*')");
        int[] vaeChannels = new int[vaeLevels];
        for (int i = 0; i < vaeLevels; i++) vaeChannels[i] = (int) shape(v + "encoder.down." + i + ".block.0.conv1.weight")[0];
        int latent = (int) shape(v + "post_quant_conv.weight")[0];
        int vaeIn = (int) shape(v + "encoder.conv_in.weight")[1];
        int vaeOut = (int) shape(v + "decoder.conv_out.weight")[0];

        // ---- text ----
        int blocks, width, intermediate, positions, vocab;
        if (family == LdmNames.Family.SD2) {
            String t = LdmNames.TEXT;
            blocks = 1 + maxIndex(Pattern.compile(Pattern.quote(t) + "transformer\\.resblocks\\.(\\d+)\\."));
            if (blocks < 2) throw new UserError(ck.file() + ": the text encoder has " + blocks + " resblock; SD2 needs at least 2 (it uses the penultimate)");
            long[] tok = shape(t + "token_embedding.weight");
            vocab = (int) tok[0];
            width = (int) tok[1];
            intermediate = (int) shape(t + "transformer.resblocks.0.mlp.c_fc.weight")[0];
            positions = (int) shape(t + "positional_embedding")[0];
        } else {
            String t = LdmNames.TEXT_V1 + "text_model.";
            blocks = 1 + maxIndex(Pattern.compile(Pattern.quote(t) + "encoder\\.layers\\.(\\d+)\\."));
            long[] tok = shape(t + "embeddings.token_embedding.weight");
            vocab = (int) tok[0];
            width = (int) tok[1];
            intermediate = (int) shape(t + "encoder.layers.0.mlp.fc1.weight")[0];
            positions = (int) shape(t + "embeddings.position_embedding.weight")[0];
        }
        LdmNames.Layout layout = new LdmNames.Layout(family, levels, layers, attention, depth, vaeLevels, vaeLayers, blocks);
        return new Shapes(layout, unetIn, unetOut, channels, crossDim, linear, vaeIn, vaeOut, latent, vaeChannels,
            width, intermediate, positions, vocab);
    }

    private Inferred run(Prediction flag) {
        Shapes s = shapes();
        LdmNames.Layout layout = s.layout();
        int[] channels = s.channels();
        boolean sd2 = layout.family() == LdmNames.Family.SD2;
        decisions.add("model: " + layout.family() + " (" + (sd2 ? "OpenCLIP" : "CLIP ViT-L") + " text encoder), UNet channels "
            + Arrays.toString(channels) + " x " + layout.unetLayers() + " resnets, attention on levels "
            + IntStream.range(0, channels.length).filter(i -> layout.unetAttention()[i]).boxed().toList()
            + ", cross-attention " + s.crossDim() + "; text " + (sd2
                ? (layout.textBlocks() - 1) + " of " + layout.textBlocks() + " resblocks used (SD2 conditions on the penultimate layer)"
                : layout.textBlocks() + " layers, all used, quick GELU"));
        int[] heads = heads(channels, layout.family());
        int width = s.textWidth(), textHeadDim;
        String headWhy;
        if (sd2) {
            textHeadDim = channels[0] / heads[0];
            headWhy = "the UNet's";
        } else {
            textHeadDim = CLIP_HEAD_DIM;
            headWhy = "CLIP ViT-L/14's";
        }
        if (width % textHeadDim != 0)
            throw new UserError(ck.file() + ": text width " + width + " is not a multiple of the head width " + textHeadDim + " (" + headWhy
                + "); no tensor records the text encoder's head count: give the model's diffusers configs with --config-from DIR");
        int textHeads = width / textHeadDim;
        decisions.add("text heads: " + textHeads + " (width " + width + " / head width " + textHeadDim + ", " + headWhy
            + "; no tensor records it, --config-from DIR overrides)");

        // ---- what only the yaml (or a convention) can tell ----
        Prediction prediction = prediction(flag, layout.family());   // null: only running the UNet can tell
        Object imageSize = yaml("model.params.image_size");
        int sampleSize = 0;                                   // 0: follows from the prediction type
        if (imageSize instanceof Long l) {
            if (l < 1 || l > 1 << 16) throw new UserError(yamlName + ": model.params.image_size is " + l + ", expected a latent size from 1 to 65536");
            sampleSize = l.intValue();
            decisions.add("sample size: " + sampleSize + " latents (" + yamlName + " image_size)");
        } else if (!sd2) {
            sampleSize = 64;
            decisions.add("sample size: 64 latents (512 px, SD 1.x's size)");
        }
        double scale = number("model.params.scale_factor", 0.18215);
        double betaStart = number("model.params.linear_start", 0.00085), betaEnd = number("model.params.linear_end", 0.012);
        int timesteps = (int) number("model.params.timesteps", 1000);
        Object schedule = yaml("model.params.beta_schedule");
        if (schedule != null && !"linear".equals(schedule))
            throw new UserError(yamlName + ": beta_schedule '" + schedule + "' is not supported (Stable Diffusion uses 'linear', diffusers' scaled_linear)");
        checkYaml("model.params.unet_config.params.model_channels", channels[0]);
        checkYaml("model.params.unet_config.params.num_res_blocks", layout.unetLayers());
        checkYaml("model.params.unet_config.params.context_dim", s.crossDim());
        checkYaml("model.params.unet_config.params.transformer_depth", layout.transformerDepth());
        checkYaml("model.params.first_stage_config.params.embed_dim", s.latent());
        if (sd2 && yaml != null && "last".equals(yaml("model.params.cond_stage_config.params.layer")))
            warnings.add(yamlName + " asks for the text encoder's last layer; SD2 and this conversion use the penultimate");

        Inferred inferred = new Inferred(layout, s.unetIn(), s.unetOut(), channels, s.crossDim(), s.linear(), heads, s.vaeIn(), s.vaeOut(),
            s.latent(), s.vaeChannels(), width, textHeads, s.textIntermediate(), s.textPositions(), s.textVocab(), prediction, sampleSize,
            scale, betaStart, betaEnd, timesteps, List.copyOf(decisions), List.copyOf(warnings));
        return prediction == null ? inferred : inferred.withPrediction(prediction, null);
    }

    /**
     * The architecture of a diffusers folder's configs ({@code --config-from}), as diffusers' {@code from_single_file(config=)}
     * takes it, checked against every fact the tensors state: a config that does not fit the checkpoint is refused.
     */
    public static Inferred fromConfigs(Checkpoint ck, Path dir) {
        ConfigInference ci = new ConfigInference(ck, null, null);
        Shapes s = ci.shapes();
        Inferred d = DiffusersConfigs.read(dir);
        LdmNames.Layout a = s.layout(), b = d.layout();
        String from = dir + " (--config-from)";
        ci.agree(from, "model family (text encoder)", a.family(), b.family());
        ci.agree(from, "UNet levels", a.unetLevels(), b.unetLevels());
        ci.agree(from, "UNet resnets per level", a.unetLayers(), b.unetLayers());
        ci.agree(from, "UNet levels with attention", Arrays.toString(a.unetAttention()), Arrays.toString(b.unetAttention()));
        ci.agree(from, "transformer blocks per attention", a.transformerDepth(), b.transformerDepth());
        ci.agree(from, "UNet channels", Arrays.toString(s.channels()), Arrays.toString(d.unetChannels()));
        ci.agree(from, "UNet input channels", s.unetIn(), d.unetIn());
        ci.agree(from, "UNet output channels", s.unetOut(), d.unetOut());
        ci.agree(from, "cross-attention width", s.crossDim(), d.crossAttentionDim());
        ci.agree(from, "linear proj_in/proj_out (use_linear_projection)", s.linear(), d.linearProjection());
        ci.agree(from, "VAE levels", a.vaeLevels(), b.vaeLevels());
        ci.agree(from, "VAE resnets per level", a.vaeLayers(), b.vaeLayers());
        ci.agree(from, "VAE channels", Arrays.toString(s.vaeChannels()), Arrays.toString(d.vaeChannels()));
        ci.agree(from, "latent channels", s.latent(), d.latentChannels());
        ci.agree(from, "text layers", a.textLayers(), b.textLayers());
        ci.agree(from, "text width", s.textWidth(), d.textWidth());
        ci.agree(from, "text MLP width", s.textIntermediate(), d.textIntermediate());
        ci.agree(from, "text positions", s.textPositions(), d.textPositions());
        ci.agree(from, "text vocabulary", s.textVocab(), d.textVocab());
        if (s.textWidth() % d.textHeads() != 0)
            throw new UserError(from + ": text_encoder num_attention_heads " + d.textHeads() + " does not divide the text width " + s.textWidth());
        for (int i = 0; i < d.heads().length; i++)
            if (s.channels()[i] % d.heads()[i] != 0)
                throw new UserError(from + ": unet heads " + d.heads()[i] + " do not divide level " + i + "'s " + s.channels()[i] + " channels");
        List<String> why = List.of("model: " + a.family() + ", architecture from " + dir + "'s configs (--config-from), checked against the tensors: UNet channels "
            + Arrays.toString(s.channels()) + ", text " + a.textLayers() + " layers of width " + s.textWidth() + " in " + d.textHeads() + " heads");
        // the tensors' layout (same facts) with the folder's settings
        return new Inferred(a, d.unetIn(), d.unetOut(), d.unetChannels(), d.crossAttentionDim(), d.linearProjection(), d.heads(),
            d.vaeIn(), d.vaeOut(), d.latentChannels(), d.vaeChannels(), d.textWidth(), d.textHeads(), d.textIntermediate(), d.textPositions(),
            d.textVocab(), d.prediction(), d.sampleSize(), d.scaleFactor(), d.betaStart(), d.betaEnd(), d.trainTimesteps(), why, List.of());
    }

    private void agree(String from, String what, Object tensors, Object config) {
        if (!tensors.equals(config))
            throw new UserError(from + ": " + what + " is " + config + " in the configs but " + tensors + " in " + ck.file().getFileName());
    }

    /** Heads per level: from the yaml's num_head_channels or num_heads, else SD2's head width of 64 / SD 1.x's 8 heads. */
    private int[] heads(int[] channels, LdmNames.Family family) {
        Object nhc = yaml("model.params.unet_config.params.num_head_channels");
        Object nh = yaml("model.params.unet_config.params.num_heads");
        int[] heads = new int[channels.length];
        String why;
        if (nhc instanceof Long w && w > 0) {
            for (int i = 0; i < channels.length; i++) heads[i] = divide(channels[i], w.intValue(), "num_head_channels");
            why = "from " + yamlName + " (num_head_channels: " + w + ")";
        } else if (nh instanceof Long n && n > 0) {
            Arrays.fill(heads, n.intValue());
            for (int c : channels) divide(c, n.intValue(), "num_heads");
            why = "from " + yamlName + " (num_heads: " + n + ")";
        } else if (family == LdmNames.Family.SD2) {
            for (int i = 0; i < channels.length; i++) heads[i] = divide(channels[i], SD2_HEAD_DIM, "SD2's head width");
            why = (yaml == null ? "no yaml beside the checkpoint" : yamlName + " names no head count")
                + ": SD2's head width " + SD2_HEAD_DIM + " (pass the model's yaml with --config if it differs)";
        } else {
            Arrays.fill(heads, SD1_HEADS);
            for (int c : channels) divide(c, SD1_HEADS, "SD 1.x's head count");
            why = (yaml == null ? "no yaml beside the checkpoint" : yamlName + " names no head count")
                + ": SD 1.x's " + SD1_HEADS + " heads (pass the model's yaml with --config if it differs)";
        }
        decisions.add("UNet heads per level: " + Arrays.stream(heads).mapToObj(Integer::toString).collect(Collectors.joining(",")) + " " + why);
        return heads;
    }

    private int divide(int channels, int by, String what) {
        if (by <= 0 || channels % by != 0)
            throw new UserError(ck.file() + ": " + channels + " channels do not split into heads of " + by + " (" + what + ")");
        return channels / by;
    }

    private Prediction prediction(Prediction flag, LdmNames.Family family) {
        Object p = yaml("model.params.parameterization");
        if (family == LdmNames.Family.SD1 && flag == null && yaml == null) {
            decisions.add("prediction: epsilon (no yaml; SD 1.x models are epsilon-prediction; pass --prediction v for a v fine-tune)");
            return Prediction.EPSILON;
        }
        return decidePrediction(flag, yaml != null, p, yamlName, ck.file(), decisions);
    }

    /**
     * The flag wins; then the yaml's {@code parameterization} (absent: LDM's default, eps); without a yaml, the file
     * name (SD2's 768 files are v, its 512 and base files epsilon). Null when none of these tells: then
     * {@link PredictionProbe} runs the UNet. Adds the reason to {@code decisions}.
     */
    static Prediction decidePrediction(Prediction flag, boolean haveYaml, Object parameterization, String yamlName, Path file,
                                       List<String> decisions) {
        Prediction fromYaml = !haveYaml ? null : parameterization == null ? Prediction.EPSILON : switch (String.valueOf(parameterization)) {
            case "v" -> Prediction.V_PREDICTION;
            case "eps" -> Prediction.EPSILON;
            default -> throw new UserError(yamlName + ": parameterization '" + parameterization + "' is not supported (expected eps or v)");
        };
        if (flag != null) {
            decisions.add("prediction: " + flag + " (--prediction" + (fromYaml != null && fromYaml != flag ? ", overriding " + yamlName + "'s " + fromYaml : "") + ")");
            return flag;
        }
        if (fromYaml != null) {
            decisions.add("prediction: " + fromYaml + " (" + yamlName
                + (parameterization == null ? " has no parameterization: LDM's default is eps)" : " parameterization: " + parameterization + ")"));
            return fromYaml;
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean says768 = name.contains("768"), says512 = name.contains("512") || name.contains("base");
        if (says768 != says512) {
            Prediction pr = says768 ? Prediction.V_PREDICTION : Prediction.EPSILON;
            decisions.add("prediction: " + pr + " (no yaml; the file name says " + (says768 ? "768: SD2's 768 models are v-prediction" : "512/base: SD2's 512 models are epsilon")
                + "; pass --prediction to override)");
            return pr;
        }
        return null;
    }

    private void checkYaml(String path, int fromTensors) {
        if (yaml(path) instanceof Long l && l != fromTensors)
            warnings.add(yamlName + " says " + path.substring(path.lastIndexOf('.') + 1) + ": " + l + " but the tensors say " + fromTensors + " (the tensors win)");
    }

    private Object yaml(String path) { return yaml == null ? null : SimpleYaml.get(yaml, path); }

    private double number(String path, double dflt) {
        Object o = yaml(path);
        if (o == null) return dflt;
        if (o instanceof Number n) return n.doubleValue();
        throw new UserError(yamlName + ": " + path + " is '" + o + "', expected a number");
    }

    private long[] shape(String key) {
        if (!ck.contains(key)) throw new UserError(ck.file() + ": missing tensor '" + key + "' (expected in a Stable Diffusion checkpoint)");
        return ck.get(key).shape();
    }

    private int maxIndex(Pattern p) {
        TreeSet<Integer> s = indices(p);
        return s.isEmpty() ? -1 : s.last();
    }

    private TreeSet<Integer> indices(Pattern p) {
        TreeSet<Integer> s = new TreeSet<>();
        for (String k : ck.tensors().keySet()) {
            Matcher m = p.matcher(k);
            if (m.lookingAt()) s.add(Integer.parseInt(m.group(1)));
        }
        return s;
    }
}
