package dev.stitch.steering;

/**
 * One edit of one tap's activations: an operator with its vector (or transport) and strength, optionally keeping
 * each token's norm. Works on the channel vectors of any layout: a "token" is one spatial position of an NCHW map or
 * one row of an [B, L, C] sequence.
 */
public final class Intervention {
    public final Operator op;
    public final float[] vector;        // linear operators
    public final Transport transport;   // act
    public final float strength;
    public final boolean preserveNorm;
    private final float[] unit;
    private final double norm;

    public Intervention(Operator op, float[] vector, Transport transport, float strength, boolean preserveNorm) {
        if (op == Operator.ACT ? transport == null : vector == null)
            throw new IllegalArgumentException(op.cliName + " needs " + (op == Operator.ACT ? "a transport" : "a vector"));
        this.op = op;
        this.vector = vector;
        this.transport = transport;
        this.strength = strength;
        this.preserveNorm = preserveNorm;
        if (vector != null) {
            double n = 0;
            for (float v : vector) n += (double) v * v;
            norm = Math.sqrt(n);
            unit = new float[vector.length];
            for (int i = 0; i < vector.length; i++) unit[i] = norm == 0 ? 0 : (float) (vector[i] / norm);
        } else {
            norm = 0;
            unit = null;
        }
    }

    public int channels() { return vector != null ? vector.length : transport.channels(); }

    /**
     * Edits {@code x} in place: tokens [first, last) of a tensor whose channel c of token t sits at
     * {@code base(t) + c·stride}. {@code tokenBase} gives base(t) for t = 0..n−1.
     */
    public void apply(float[] x, int[] tokenBase, int stride) {
        if (strength == 0) return;   // exactly unsteered
        int c = channels();
        float[] tmp = new float[c];
        for (int base : tokenBase) {
            for (int j = 0; j < c; j++) tmp[j] = x[base + j * stride];
            double before = preserveNorm ? norm(tmp) : 0;
            edit(tmp);
            if (preserveNorm) {
                double after = norm(tmp);
                if (after > 0) for (int j = 0; j < c; j++) tmp[j] = (float) (tmp[j] * (before / after));
            }
            for (int j = 0; j < c; j++) x[base + j * stride] = tmp[j];
        }
    }

    /** The edit of one token's channel vector, in place. */
    void edit(float[] x) {
        switch (op) {
            case ADD -> { for (int j = 0; j < x.length; j++) x[j] += strength * vector[j]; }
            case ABLATE -> removeProjection(x, strength * projection(x));
            case GATED -> removeProjection(x, strength * Math.max(0, projection(x)));
            case CLAMP -> removeProjection(x, strength * (projection(x) - norm));
            case ACT -> { for (int j = 0; j < x.length; j++) x[j] = transport.apply(j, x[j], strength); }
        }
    }

    private double projection(float[] x) {
        double p = 0;
        for (int j = 0; j < x.length; j++) p += (double) x[j] * unit[j];
        return p;
    }

    private void removeProjection(float[] x, double amount) {
        for (int j = 0; j < x.length; j++) x[j] = (float) (x[j] - amount * unit[j]);
    }

    private static double norm(float[] x) {
        double s = 0;
        for (float v : x) s += (double) v * v;
        return Math.sqrt(s);
    }
}
