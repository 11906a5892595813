package dev.stitch.engine.taps;

import dev.stitch.kernels.Backend;

import java.util.Arrays;

/**
 * What a hook sees besides the tensor: the component ({@code unet}, {@code text_encoder}, {@code vae}), the value's
 * layout, the denoising step (−1 outside denoising) and its timestep (NaN outside), what each batch row is
 * ({@link Rows}), and the backend that owns the value ({@code ops.toHost(value)} reads it, {@code ops} computes
 * an edit on the value's device). Step, timestep and rows are those of the tap's {@link ModelCall}.
 */
public record TapContext(String component, TapLayout layout, int step, double timestep, Rows rows, Backend ops) {

    /** True for calls made by a denoising step (UNet calls), false for the text encoder and the VAE. */
    public boolean inDenoising() { return step >= 0; }

    public int batch() { return rows.size(); }

    public CfgHalf half(int row) { return rows.half(row); }

    public int prompt(int row) { return rows.prompt(row); }

    /** Batch rows of {@code half}, in batch order (do not modify). */
    public int[] rowsOf(CfgHalf half) { return rows.rowsOf(half); }

    /**
     * What each row of a batch is: its CFG half and its prompt index, and for text-encoder calls its token ids.
     * The pipeline lays a guided batch out as diffusers does, unconditional rows first: {@link #cfg(int)}.
     */
    public static final class Rows {
        private final CfgHalf[] halves;
        private final int[] prompts;
        private final int[][] tokens;       // null outside text-encoder calls
        private final int[] uncondRows, condRows;

        private Rows(CfgHalf[] halves, int[] prompts, int[][] tokens) {
            if (halves.length != prompts.length)
                throw new IllegalArgumentException(halves.length + " halves for " + prompts.length + " prompt indices");
            if (tokens != null && tokens.length != halves.length)
                throw new IllegalArgumentException(tokens.length + " token rows for a batch of " + halves.length);
            this.halves = halves.clone();
            this.prompts = prompts.clone();
            this.tokens = tokens == null ? null : Arrays.stream(tokens).map(int[]::clone).toArray(int[][]::new);
            this.uncondRows = select(CfgHalf.UNCOND);
            this.condRows = select(CfgHalf.COND);
        }

        private int[] select(CfgHalf h) {
            int[] r = new int[halves.length];
            int n = 0;
            for (int i = 0; i < halves.length; i++) if (halves[i] == h) r[n++] = i;
            return Arrays.copyOf(r, n);
        }

        /** Any layout: row i is {@code halves[i]} of prompt {@code prompts[i]}. */
        public static Rows of(CfgHalf[] halves, int[] prompts) { return new Rows(halves, prompts, null); }

        /** A guided batch of {@code n} prompts: n unconditional rows, then n conditional rows, prompts 0..n−1 in each. */
        public static Rows cfg(int n) {
            CfgHalf[] h = new CfgHalf[2 * n];
            int[] p = new int[2 * n];
            for (int i = 0; i < n; i++) {
                h[i] = CfgHalf.UNCOND;
                h[n + i] = CfgHalf.COND;
                p[i] = p[n + i] = i;
            }
            return of(h, p);
        }

        /** {@code n} conditional rows, prompts 0..n−1 (unguided UNet calls, the VAE, encoding the prompts). */
        public static Rows cond(int n) { return same(CfgHalf.COND, n); }

        /** {@code n} unconditional rows, prompts 0..n−1 (encoding the negative prompts). */
        public static Rows uncond(int n) { return same(CfgHalf.UNCOND, n); }

        private static Rows same(CfgHalf half, int n) {
            CfgHalf[] h = new CfgHalf[n];
            Arrays.fill(h, half);
            int[] p = new int[n];
            Arrays.setAll(p, i -> i);
            return of(h, p);
        }

        /** The same rows with the token ids each row was encoded from (text-encoder calls; one array per row). */
        public Rows withTokens(int[][] ids) { return new Rows(halves, prompts, ids); }

        public int size() { return halves.length; }

        public CfgHalf half(int row) { return halves[row]; }

        public int prompt(int row) { return prompts[row]; }

        public int[] rowsOf(CfgHalf half) { return half == CfgHalf.COND ? condRows : uncondRows; }

        public boolean hasTokens() { return tokens != null; }

        /** The token ids of {@code row} (do not modify); only for text-encoder calls. */
        public int[] tokens(int row) {
            if (tokens == null) throw new IllegalStateException("no token ids were set for this call (not a text-encoder call)");
            return tokens[row];
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("[");
            for (int i = 0; i < halves.length; i++) s.append(i == 0 ? "" : ", ").append(halves[i].label).append(' ').append(prompts[i]);
            return s.append(']').toString();
        }
    }
}
