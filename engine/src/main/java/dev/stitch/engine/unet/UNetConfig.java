package dev.stitch.engine.unet;

import dev.stitch.engine.io.JsonConfig;
import dev.stitch.engine.io.JsonFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The part of diffusers' {@code UNet2DConditionModel} config (0.25) that SD 1.x/2.x UNets use, read from
 * {@code unet/config.json}. Absent keys take diffusers' defaults; per-block settings given as one number are
 * expanded to one per block, as diffusers does. A value that would change the network in a way this engine does
 * not implement (class or addition embeddings, another time embedding, other block types...) is a {@link UserError}
 * naming the key, never silently ignored.
 *
 * <p>{@code heads} is diffusers' {@code num_attention_heads or attention_head_dim}: despite its name,
 * {@code attention_head_dim} holds the number of heads (SD2: [5, 10, 20, 20] heads of 64).
 *
 * @param layersPerBlock             resnets per down block (up blocks have one more)
 * @param heads                      attention heads per down block; the mid block uses the last, up blocks the reversed list
 * @param crossAttentionDim          text-embedding width per down block
 * @param transformerLayersDown      per down block, per layer: the transformer blocks of each Transformer2DModel
 * @param transformerLayersUp        the same for the up blocks (in up-block order)
 * @param timeEmbedDim               width of the time embedding (4 × block_out_channels[0] unless given)
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        boolean flipSinToCos,
        float freqShift,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        List<Integer> blockOutChannels,
        List<Integer> layersPerBlock,
        List<Integer> heads,
        List<Integer> crossAttentionDim,
        List<List<Integer>> transformerLayersDown,
        List<List<Integer>> transformerLayersUp,
        boolean useLinearProjection,
        boolean upcastAttention,
        int normNumGroups,
        float normEps,
        int downsamplePadding,
        int timeEmbedDim,
        int convInKernel,
        int convOutKernel,
        int sampleSize) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D", DOWN = "DownBlock2D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D", UP = "UpBlock2D";
    public static final String MID = "UNetMidBlock2DCrossAttn";

    /** Keys whose value we read (defaults below); {@link #FIXED} lists the ones that must keep diffusers' default. */
    private static final Set<String> READ = Set.of(
        "in_channels", "out_channels", "flip_sin_to_cos", "freq_shift", "down_block_types", "up_block_types",
        "mid_block_type", "block_out_channels", "layers_per_block", "attention_head_dim", "num_attention_heads",
        "cross_attention_dim", "transformer_layers_per_block", "reverse_transformer_layers_per_block",
        "use_linear_projection", "upcast_attention", "norm_num_groups", "norm_eps", "downsample_padding",
        "time_embedding_dim", "conv_in_kernel", "conv_out_kernel", "only_cross_attention",
        "mid_block_only_cross_attention", "sample_size");

    /** Keys that only matter together with a feature we refuse anyway, or not at inference. */
    private static final Set<String> IGNORED = Set.of(
        "dropout", "addition_embed_type_num_heads", "addition_time_embed_dim",
        "projection_class_embeddings_input_dim", "class_embeddings_concat");

    /** Keys whose only supported value is diffusers' default (JSON text of the value). */
    private static final Map<String, String> FIXED = Map.ofEntries(
        Map.entry("act_fn", "\"silu\""),
        Map.entry("center_input_sample", "false"),
        Map.entry("class_embed_type", "null"),
        Map.entry("num_class_embeds", "null"),
        Map.entry("addition_embed_type", "null"),
        Map.entry("encoder_hid_dim", "null"),
        Map.entry("encoder_hid_dim_type", "null"),
        Map.entry("dual_cross_attention", "false"),
        Map.entry("time_embedding_type", "\"positional\""),
        Map.entry("time_embedding_act_fn", "null"),
        Map.entry("timestep_post_act", "null"),
        Map.entry("time_cond_proj_dim", "null"),
        Map.entry("resnet_time_scale_shift", "\"default\""),
        Map.entry("resnet_skip_time_act", "false"),
        Map.entry("resnet_out_scale_factor", "1"),
        Map.entry("mid_block_scale_factor", "1"),
        Map.entry("attention_type", "\"default\""),
        Map.entry("cross_attention_norm", "null"));

    private static final ObjectMapper JSON = new ObjectMapper();

    public int blocks() { return blockOutChannels.size(); }

    /** The mid block's transformer depth: diffusers takes the last down block's (first layer's) count. */
    public int midTransformerLayers() { return transformerLayersDown.getLast().getFirst(); }

    /** Reads {@code config.json}; any problem is one line naming the file and the key. */
    public static UNetConfig load(Path file) {
        return new Reader(JsonConfig.read(file)).config();
    }

    /** Parses config JSON; {@code origin} names it in error messages. */
    public static UNetConfig parse(String origin, String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new UserError(origin + ": " + JsonFiles.reason(e));
        }
        if (root == null || !root.isObject()) throw new UserError(origin + ": expected a JSON object");
        return new Reader(new JsonConfig(origin, root)).config();
    }

    /** Reads one config object: typed keys through {@link JsonConfig}, the UNet's own rules here. */
    private record Reader(JsonConfig c) {
        String origin() { return c.origin(); }

        JsonNode root() { return c.root(); }

        UNetConfig config() {
            JsonNode root = root();
            for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                JsonNode v = root.get(key);
                if (key.startsWith("_") || READ.contains(key) || IGNORED.contains(key)) continue;
                String fixed = FIXED.get(key);
                if (fixed == null) {
                    if (!v.isNull()) throw unsupported(key, v, "an unknown key");
                } else if (!sameValue(v, fixed)) {
                    throw unsupported(key, v, "supported: " + fixed);
                }
            }

            List<String> down = List.copyOf(c.strings("down_block_types",
                List.of(CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN)));
            List<String> up = List.copyOf(c.strings("up_block_types", List.of(UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP)));
            int n = down.size();
            for (String t : down) if (!t.equals(CROSS_ATTN_DOWN) && !t.equals(DOWN)) throw unsupported("down_block_types", t);
            for (String t : up) if (!t.equals(CROSS_ATTN_UP) && !t.equals(UP)) throw unsupported("up_block_types", t);
            JsonNode mid = root.get("mid_block_type");
            if (mid != null && !(mid.isTextual() && mid.asText().equals(MID))) throw unsupported("mid_block_type", mid);
            if (n == 0) throw bad("down_block_types", "at least one block");
            if (up.size() != n) throw bad("up_block_types", n + " entries, as down_block_types");

            List<Integer> channels = perBlock("block_out_channels", List.of(320, 640, 1280, 1280), n, false);
            List<Integer> layers = perBlock("layers_per_block", 2, n);
            JsonNode headsNode = present("num_attention_heads") ? root.get("num_attention_heads") : null;
            List<Integer> heads = headsNode != null ? perBlock("num_attention_heads", null, n)
                                                    : perBlock("attention_head_dim", 8, n);
            List<Integer> crossDim = perBlock("cross_attention_dim", 1280, n);
            if (root.has("norm_num_groups") && root.get("norm_num_groups").isNull())   // diffusers: no norms at all
                throw unsupported("norm_num_groups", root.get("norm_num_groups"));
            int groups = c.positive("norm_num_groups", 32);   // divides every channel count below

            for (int i = 0; i < n; i++) {
                String headsKey = headsNode != null ? "num_attention_heads" : "attention_head_dim";
                if (heads.get(i) <= 0 || heads.get(i) > channels.get(i))
                    throw bad(headsKey, "a head count between 1 and block_out_channels[" + i + "] = " + channels.get(i));
                if (channels.get(i) % groups != 0)
                    throw bad("norm_num_groups", "a divisor of every block_out_channels entry (" + channels.get(i) + ")");
                if (layers.get(i) <= 0) throw bad("layers_per_block", "positive counts");
            }
            if (!allFalse("only_cross_attention")) throw unsupported("only_cross_attention", root.get("only_cross_attention"), "supported: false");
            if (!allFalse("mid_block_only_cross_attention"))
                throw unsupported("mid_block_only_cross_attention", root.get("mid_block_only_cross_attention"), "supported: null or false");

            // transformer_layers_per_block: one count, one per block, or (with the reverse list) one per layer
            List<List<Integer>> tDown = layerCounts("transformer_layers_per_block", root.get("transformer_layers_per_block"), layers);
            List<List<Integer>> tUp;
            List<Integer> upLayers = new ArrayList<>(layers.reversed());
            upLayers.replaceAll(l -> l + 1);
            JsonNode rev = root.get("reverse_transformer_layers_per_block");
            if (rev == null || rev.isNull()) {
                JsonNode fwd = root.get("transformer_layers_per_block");
                if (fwd != null && fwd.isArray())
                    for (JsonNode e : fwd)
                        if (e.isArray()) throw bad("reverse_transformer_layers_per_block",
                            "a list when transformer_layers_per_block has per-layer lists (as diffusers requires)");
                List<Integer> perBlockDown = new ArrayList<>();
                for (List<Integer> l : tDown) perBlockDown.add(l.getFirst());
                tUp = new ArrayList<>();
                List<Integer> r = perBlockDown.reversed();
                for (int i = 0; i < n; i++) tUp.add(Collections.nCopies(upLayers.get(i), r.get(i)));
            } else {
                tUp = layerCounts("reverse_transformer_layers_per_block", rev, upLayers);
            }

            int convIn = c.integer("conv_in_kernel", 3), convOut = c.integer("conv_out_kernel", 3);
            if (convIn % 2 == 0 || convIn <= 0) throw bad("conv_in_kernel", "an odd size");
            if (convOut % 2 == 0 || convOut <= 0) throw bad("conv_out_kernel", "an odd size");
            int pad = c.integer("downsample_padding", 1);
            if (pad < 0) throw bad("downsample_padding", "0 or more");
            int timeEmbedDim = c.node("time_embedding_dim") == null ? timeEmbedDim(channels.getFirst()) : c.positive("time_embedding_dim", 0);
            if (channels.getFirst() % 2 != 0) throw bad("block_out_channels", "an even first entry (sinusoidal embedding)");

            return new UNetConfig(c.positive("in_channels", 4), c.positive("out_channels", 4),
                c.bool("flip_sin_to_cos", true), (float) c.number("freq_shift", 0),
                down, up, channels, layers, heads, crossDim, tDown, tUp,
                c.bool("use_linear_projection", false), c.bool("upcast_attention", false),
                groups, c.epsilon("norm_eps", 1e-5), pad, timeEmbedDim, convIn, convOut, c.positive("sample_size", 64));
        }

        boolean present(String key) { return c.node(key) != null; }

        /** diffusers' default: four times the first block's channels (overflow-checked). */
        int timeEmbedDim(int firstChannels) {
            try {
                return Math.multiplyExact(firstChannels, 4);
            } catch (ArithmeticException e) {
                throw bad("block_out_channels", "a first entry small enough for a time embedding of 4 times its width");
            }
        }

        /** An int or a list of n ints (positive); {@code expand} false keeps a list's own length. */
        List<Integer> perBlock(String key, Object dflt, int n, boolean expand) {
            JsonNode v = present(key) ? root().get(key) : JSON.valueToTree(dflt);
            List<Integer> out = new ArrayList<>();
            if (v.isIntegralNumber() && v.canConvertToInt() && expand) out.addAll(Collections.nCopies(n, v.intValue()));
            else if (v.isArray()) for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) throw bad(key, v, "an integer or a list of integers");
                out.add(e.intValue());
            }
            else throw bad(key, v, expand ? "an integer or a list of " + n + " integers" : "a list of integers");
            if (out.size() != n) throw bad(key, v, n + " entries, one per down block");
            for (int x : out) if (x <= 0) throw bad(key, v, "positive values");
            return List.copyOf(out);
        }

        List<Integer> perBlock(String key, Object dflt, int n) { return perBlock(key, dflt, n, true); }

        /** Per block, per layer counts from an int, a list of ints (one per block) or a list of lists. */
        List<List<Integer>> layerCounts(String key, JsonNode v, List<Integer> layers) {
            int n = layers.size();
            if (v == null || v.isNull()) v = JSON.valueToTree(1);
            List<List<Integer>> out = new ArrayList<>();
            if (v.isIntegralNumber()) {
                for (int i = 0; i < n; i++) out.add(Collections.nCopies(layers.get(i), v.intValue()));
            } else if (v.isArray() && v.size() == n) {
                for (int i = 0; i < n; i++) {
                    JsonNode e = v.get(i);
                    if (e.isIntegralNumber()) out.add(Collections.nCopies(layers.get(i), e.intValue()));
                    else if (e.isArray() && e.size() == layers.get(i)) {
                        List<Integer> l = new ArrayList<>();
                        for (JsonNode x : e) {
                            if (!x.isIntegralNumber() || !x.canConvertToInt()) throw bad(key, v, "integers");
                            l.add(x.intValue());
                        }
                        out.add(List.copyOf(l));
                    } else throw bad(key, v, "per block an integer or a list of " + layers.get(i) + " integers");
                }
            } else throw bad(key, v, "an integer or a list of " + n + " entries");
            for (List<Integer> l : out) for (int x : l) if (x <= 0) throw bad(key, v, "positive counts");
            return List.copyOf(out);
        }

        boolean allFalse(String key) {
            JsonNode v = root().get(key);
            if (v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())) return true;
            if (!v.isArray()) return false;
            for (JsonNode e : v) if (!e.isBoolean() || e.booleanValue()) return false;
            return true;
        }

        static boolean sameValue(JsonNode v, String expectedJson) {
            try {
                JsonNode e = JSON.readTree(expectedJson);
                return e.isNumber() ? v.isNumber() && v.doubleValue() == e.doubleValue() : Objects.equals(v, e);
            } catch (JsonProcessingException ex) {
                throw new IllegalStateException(ex);
            }
        }

        UserError unsupported(String key, Object value) { return unsupported(key, value, null); }

        UserError unsupported(String key, Object value, String note) {
            String shown = value instanceof JsonNode j ? j.toString() : "\"" + value + "\"";
            return new UserError(origin() + ": " + key + " = " + shown + " is not supported" + (note == null ? "" : " (" + note + ")"));
        }

        UserError bad(String key, String expected) { return bad(key, root().get(key), expected); }

        UserError bad(String key, JsonNode v, String expected) {
            return new UserError(origin() + ": " + key + " = " + v + ", expected " + expected);
        }
    }
}
