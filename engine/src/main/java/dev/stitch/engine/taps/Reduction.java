package dev.stitch.engine.taps;

import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.Arrays;

/**
 * How a captured value is cut down before it is kept, so that capture over many taps and steps need not store
 * whole maps. Applied to the rows of one CFG half, by the backend that holds the value ({@code ctx.ops()}): only
 * the reduced result is new, and it is always fresh numbers that the caller may keep.
 *
 * <ul>
 * <li>{@link #NONE}: the rows as they are, [n, ...].</li>
 * <li>{@link #MEAN}: mean over positions per channel: NCHW → mean over H·W, NLC → mean over L, NC as is; [n, C].</li>
 * <li>{@link #LAST_TOKEN}, {@link #EOS_TOKEN}, {@link #tokens}: text-encoder taps [B, L, C], one token row per
 * prompt ([n, C]) or chosen positions ([n, P, C]). The EOS position is the first position of the largest token
 * id (CLIP's rule for its pooled output: EOS has the largest id); the last token is the one before it, the prompt's
 * last word (BOS for an empty prompt).</li>
 * </ul>
 */
public final class Reduction {
    private enum Kind { NONE, MEAN, LAST, EOS, POSITIONS }

    public static final Reduction NONE = new Reduction(Kind.NONE, null);
    public static final Reduction MEAN = new Reduction(Kind.MEAN, null);
    public static final Reduction LAST_TOKEN = new Reduction(Kind.LAST, null);
    public static final Reduction EOS_TOKEN = new Reduction(Kind.EOS, null);

    private final Kind kind;
    private final int[] positions;

    private Reduction(Kind kind, int[] positions) {
        this.kind = kind;
        this.positions = positions;
    }

    /** Explicit token positions (0 is BOS) of text-encoder taps → [n, P, C]. */
    public static Reduction tokens(int... positions) {
        if (positions.length == 0) throw new UserError("token positions: none given");
        for (int p : positions) if (p < 0) throw new UserError("token position " + p + " is negative");
        return new Reduction(Kind.POSITIONS, positions.clone());
    }

    /** {@code none}, {@code mean}, {@code last}, {@code eos}, or token positions {@code I[,J]...}. */
    public static Reduction parse(String s) {
        return switch (s.strip()) {
            case "none" -> NONE;
            case "mean" -> MEAN;
            case "last" -> LAST_TOKEN;
            case "eos" -> EOS_TOKEN;
            default -> {
                try {
                    yield tokens(Arrays.stream(s.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray());
                } catch (NumberFormatException e) {
                    throw new UserError("reduction '" + s + "': expected none, mean, last, eos or token positions like 0,5,6");
                }
            }
        };
    }

    /** True if this keeps the value's full layout (so NCHW stays [n, C, H, W]). */
    public boolean keepsLayout() { return kind == Kind.NONE; }

    /**
     * Reduces rows {@code rows} of {@code value} ([B, ...], laid out as {@code ctx.layout()}) on {@code ctx.ops()};
     * the result is a new tensor of that backend.
     */
    public Tensor reduce(String tap, Tensor value, int[] rows, TapContext ctx) {
        Backend ops = ctx.ops();
        int[] shape = value.shape();
        int n = rows.length, b = shape[0], rowSize = Math.toIntExact(value.numel() / Math.max(1, b));
        TapLayout layout = ctx.layout();
        return switch (kind) {
            case NONE -> {
                int[] s = shape.clone();
                s[0] = n;
                yield ops.embedding(value.reshape(b, rowSize), rows).reshape(s);   // the rows, gathered
            }
            case MEAN -> {
                int c = shape[layout.channelAxis];
                Tensor perRow = switch (layout) {
                    case NCHW -> ops.mean(value.reshape(b, c, -1), 2);   // a channel's positions are contiguous
                    case NLC -> ops.mean(value, 1);                       // channels interleaved: mean over the tokens
                    case NC -> value;
                };
                yield ops.embedding(perRow, rows);
            }
            case LAST, EOS, POSITIONS -> {
                if (layout != TapLayout.NLC || !ctx.rows().hasTokens())
                    throw new UserError("tap " + tap + ": token selection '" + this + "' applies to text-encoder taps [B, L, C] only");
                int l = shape[1], c = shape[2];
                int p = kind == Kind.POSITIONS ? positions.length : 1;
                int[] tokenRows = new int[n * p];   // rows of value as [B·L, C]
                for (int i = 0; i < n; i++) {
                    int[] ids = ctx.rows().tokens(rows[i]);
                    if (ids.length != l) throw new IllegalStateException("tap " + tap + ": " + ids.length + " token ids for " + l + " positions");
                    int[] pick = tokenPositions(ids);
                    for (int j = 0; j < p; j++) {
                        if (pick[j] >= l) throw new UserError("token position " + pick[j] + " is past the " + l + " tokens of " + tap);
                        tokenRows[i * p + j] = rows[i] * l + pick[j];
                    }
                }
                Tensor picked = ops.embedding(value.reshape(b * l, c), tokenRows);
                yield kind == Kind.POSITIONS ? picked.reshape(n, p, c) : picked;
            }
        };
    }

    /** Whether this picks token positions of a text-encoder tap ({@code last}, {@code eos} or positions). */
    public boolean picksTokens() { return kind == Kind.LAST || kind == Kind.EOS || kind == Kind.POSITIONS; }

    /**
     * The positions this picks in a prompt of token ids {@code ids}: the EOS position, the one before it, or the
     * explicit positions (the same for every prompt). Also what a steering plan's token selection edits.
     */
    public int[] tokenPositions(int[] ids) {
        return switch (kind) {
            case POSITIONS -> positions.clone();
            case EOS -> new int[] {eos(ids)};
            case LAST -> new int[] {Math.max(0, eos(ids) - 1)};
            default -> throw new IllegalStateException("reduction " + this + " picks no token positions");
        };
    }

    /** First position of the largest id: CLIP's end-of-text token. */
    static int eos(int[] ids) {
        int best = 0;
        for (int i = 1; i < ids.length; i++) if (ids[i] > ids[best]) best = i;
        return best;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case MEAN -> "mean";
            case LAST -> "last";
            case EOS -> "eos";
            case POSITIONS -> Arrays.toString(positions).replaceAll("[\\[\\] ]", "");
        };
    }
}
