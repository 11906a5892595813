package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.util.Arrays;

/**
 * How a captured value is cut down before it is kept, so that capture over many taps and steps need not store
 * whole maps. Applied to the rows of one CFG half of a host copy of the value; always returns fresh numbers.
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
     * Reduces rows {@code rows} of {@code value} (host f32, [B, ...], laid out as {@code ctx.layout()}); the result
     * owns its array.
     */
    public Tensor reduce(String tap, Tensor value, int[] rows, TapContext ctx) {
        float[] x = value.data();
        int[] shape = value.shape();
        int n = rows.length, rowSize = Math.toIntExact(value.numel() / shape[0]);
        TapLayout layout = ctx.layout();
        return switch (kind) {
            case NONE -> {
                float[] out = new float[n * rowSize];
                for (int i = 0; i < n; i++) System.arraycopy(x, rows[i] * rowSize, out, i * rowSize, rowSize);
                int[] s = shape.clone();
                s[0] = n;
                yield Tensor.of(out, s);
            }
            case MEAN -> {
                int c = shape[layout.channelAxis], positions = rowSize / c;
                float[] out = new float[n * c];
                for (int i = 0; i < n; i++) {
                    int base = rows[i] * rowSize;
                    for (int ch = 0; ch < c; ch++) {
                        double sum = 0;
                        // NCHW: a channel's positions are contiguous; NLC: channels are interleaved
                        if (layout == TapLayout.NLC) for (int p = 0; p < positions; p++) sum += x[base + p * c + ch];
                        else for (int p = 0; p < positions; p++) sum += x[base + ch * positions + p];
                        out[i * c + ch] = (float) (sum / positions);
                    }
                }
                yield Tensor.of(out, n, c);
            }
            case LAST, EOS, POSITIONS -> {
                if (layout != TapLayout.NLC || !ctx.rows().hasTokens())
                    throw new UserError("tap " + tap + ": token selection '" + this + "' applies to text-encoder taps [B, L, C] only");
                int l = shape[1], c = shape[2];
                int p = kind == Kind.POSITIONS ? positions.length : 1;
                float[] out = new float[n * p * c];
                for (int i = 0; i < n; i++) {
                    int[] ids = ctx.rows().tokens(rows[i]);
                    if (ids.length != l) throw new IllegalStateException("tap " + tap + ": " + ids.length + " token ids for " + l + " positions");
                    int[] pick = kind == Kind.POSITIONS ? positions : new int[] {kind == Kind.EOS ? eos(ids) : Math.max(0, eos(ids) - 1)};
                    for (int j = 0; j < p; j++) {
                        if (pick[j] >= l) throw new UserError("token position " + pick[j] + " is past the " + l + " tokens of " + tap);
                        System.arraycopy(x, rows[i] * rowSize + pick[j] * c, out, (i * p + j) * c, c);
                    }
                }
                yield kind == Kind.POSITIONS ? Tensor.of(out, n, p, c) : Tensor.of(out, n, c);
            }
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
