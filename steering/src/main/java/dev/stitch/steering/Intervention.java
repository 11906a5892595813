package dev.stitch.steering;

import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * One edit of one tap's activations: an operator with its vector (or transport) and strength, optionally keeping
 * each token's norm. Works on the channel vectors of any layout: a "token" is one spatial position of an NCHW map or
 * one row of an [B, L, C] sequence. The arithmetic runs on the backend that holds the activations
 * ({@link Backend#addDirection}, {@link Backend#transport}): add is {@code x + α·v}; ablate, gated and clamp add
 * {@code −α·g(x·v̂)·v̂ (+ α‖v‖·v̂)} on the unit vector; act is the per-channel transport.
 */
public final class Intervention {
    public final Operator op;
    public final float[] vector;        // linear operators
    public final Transport transport;   // act
    public final float strength;
    public final boolean preserveNorm;
    private final double norm;
    /** The operands as tensors, made once so that a device backend uploads them once (it keeps them with the tensor). */
    private final Tensor vectorT, unitT, omega, beta, lo, hi;

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
            float[] unit = new float[vector.length];
            for (int i = 0; i < vector.length; i++) unit[i] = norm == 0 ? 0 : (float) (vector[i] / norm);
            vectorT = host(vector);
            unitT = host(unit);
            omega = beta = lo = hi = null;
        } else {
            norm = 0;
            vectorT = unitT = null;
            omega = host(transport.omega());
            beta = host(transport.beta());
            lo = host(transport.lo());
            hi = host(transport.hi());
        }
    }

    public int channels() { return vector != null ? vector.length : transport.channels(); }

    /**
     * The edit of the batch rows {@code rows} of {@code x}, a tap's value laid out as {@code layout}, computed by
     * {@code ops}, the backend that holds it: the numbers never leave it. Rows not chosen are unchanged; strength 0
     * returns {@code x} itself.
     */
    public Tensor apply(Backend ops, Tensor x, TapLayout layout, int[] rows) {
        if (strength == 0) return x;   // exactly unsteered
        int[] shape = x.shape();
        int c = shape[layout.channelAxis];
        if (c != channels()) throw new IllegalStateException("tap has " + c + " channels, vector " + channels());
        // the channel vectors lie along axis 1 of [B, C, H·W] or along the last axis of [B, L, C] and [B, C]
        Tensor v = layout == TapLayout.NCHW ? x.reshape(shape[0], c, -1) : x;
        int axis = layout.channelAxis;
        Tensor y = switch (op) {
            case ADD -> ops.addDirection(v, axis, vectorT, 0, strength, false, preserveNorm, rows);
            case ABLATE -> ops.addDirection(v, axis, unitT, -strength, 0, false, preserveNorm, rows);
            case GATED -> ops.addDirection(v, axis, unitT, -strength, 0, true, preserveNorm, rows);
            case CLAMP -> ops.addDirection(v, axis, unitT, -strength, (float) (strength * norm), false, preserveNorm, rows);
            case ACT -> ops.transport(v, axis, omega, beta, lo, hi, strength, preserveNorm, rows);
        };
        return y.reshape(shape);
    }

    private static Tensor host(float[] v) { return Tensor.of(v.clone(), v.length); }
}
