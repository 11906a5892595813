package dev.stitch.engine.taps;

/**
 * Which model call a tap belongs to: the denoising step (0-based; −1 for the text encoder and the VAE) and its
 * scheduler timestep (NaN outside denoising), and what each batch row is. The pipeline makes one per call and passes
 * it to every tap of that call ({@link Taps#at}).
 *
 * @param rows what each row is; null where nobody described the batch (a model run on its own): every row is then
 *             {@link CfgHalf#COND} of prompt {@code row}
 */
public record ModelCall(int step, double timestep, TapContext.Rows rows) {
    /** A call nobody described: outside denoising, every row COND. */
    public static final ModelCall NONE = new ModelCall(-1, Double.NaN, null);

    public ModelCall {
        if (step < -1) throw new IllegalArgumentException("step " + step + " < -1");
        if (step == -1 && !Double.isNaN(timestep)) throw new IllegalArgumentException("a timestep outside denoising");
    }

    /** A call outside denoising (the text encoder, the VAE) on {@code rows}. */
    public static ModelCall outside(TapContext.Rows rows) { return new ModelCall(-1, Double.NaN, rows); }

    /** The UNet call of denoising step {@code step} at {@code timestep} on {@code rows}. */
    public static ModelCall step(int step, double timestep, TapContext.Rows rows) {
        if (step < 0) throw new IllegalArgumentException("step " + step + " < 0");
        return new ModelCall(step, timestep, rows);
    }

    public boolean inDenoising() { return step >= 0; }

    /** The CFG half of batch row {@code row}. */
    public CfgHalf half(int row) { return rows == null ? CfgHalf.COND : rows.half(row); }

    /** The prompt index of batch row {@code row}. */
    public int prompt(int row) { return rows == null ? row : rows.prompt(row); }

    /** The rows of a value of {@code batch} rows at tap {@code tap}; a mismatch with the described rows is a bug. */
    public TapContext.Rows rows(String tap, int batch) {
        if (rows == null) return TapContext.Rows.cond(batch);
        if (rows.size() != batch)
            throw new IllegalStateException("tap " + tap + " has a batch of " + batch + " rows but the call described "
                + rows.size() + ": " + rows);
        return rows;
    }
}
