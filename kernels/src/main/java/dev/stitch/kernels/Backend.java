package dev.stitch.kernels;

/**
 * The op set (docs/design.md §2): everything the models, the taps' captures and steering's edits need, nothing
 * more. Every op returns a new tensor owned by this backend and leaves its inputs untouched. Each op's shape rule and
 * argument checks are in {@link Shapes}, which every backend calls. Activations are f32; weights may be any
 * {@link DType} and are read as f32.
 *
 * <p>Layouts: images are NCHW, token sequences [B, L, C], all row-major. Weights use PyTorch's layouts
 * (linear [out, in], conv [Cout, Cin, kh, kw]) so that diffusers' tensors are used as they are.
 */
public interface Backend {
    String name();

    // ---- transfer -------------------------------------------------------------------------------------------
    /** Host f32 data as a tensor of this backend (wrapped for host backends, copied for devices). */
    Tensor fromHost(float[] data, int... shape);

    /** A host copy-or-view of {@code t}: for host backends the backing array itself (do not write to it). */
    float[] toHost(Tensor t);

    // ---- linear algebra -------------------------------------------------------------------------------------
    /** {@code act(x · wᵀ + b)}: x [..., K], w [N, K], b [N] or null → [..., N]. */
    Tensor linear(Tensor x, Tensor w, Tensor b, Activation act);

    /**
     * Batched matrix product over a shared leading batch dimension or none: a [(B,) M, K] (or [(B,) K, M] if
     * transA), b [(B,) K, N] (or [(B,) N, K] if transB) → [(B,) M, N].
     */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    /**
     * 2-D convolution, x [B, Cin, H, W], w [Cout, Cin, kh, kw], b [Cout] or null, zero padding given per side
     * (top, bottom, left, right: the VAE encoder pads only bottom and right), → [B, Cout, Ho, Wo].
     */
    Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int padTop, int padBottom, int padLeft, int padRight, Activation act);

    default Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int pad) {
        return conv2d(x, w, b, stride, pad, pad, pad, pad, Activation.NONE);
    }

    // ---- normalisation --------------------------------------------------------------------------------------
    /** Group norm over x [B, C, ...] (statistics per batch row and group, in f32), affine, then SiLU if asked. */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu);

    /** Layer norm over the last dimension, affine. */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    // ---- attention ------------------------------------------------------------------------------------------
    /**
     * Scaled dot-product attention: q [B, Lq, H·D], k and v [B, Lk, H·D] → [B, Lq, H·D], per head
     * {@code softmax(q·kᵀ·scale) · v} with the softmax in f32; {@code causal} masks key j > query i.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, int heads, float scale, boolean causal);

    // ---- elementwise ----------------------------------------------------------------------------------------
    Tensor silu(Tensor x);

    /** Exact (erf) GELU. */
    Tensor gelu(Tensor x);

    /** max(x, 0); NaN stays NaN, as in torch. The tiny autoencoder applies it after a residual add. */
    Tensor relu(Tensor x);

    /** Hyperbolic tangent (the tiny autoencoder's soft clamp of latents, {@code tanh(z / 3) · 3}). */
    Tensor tanh(Tensor x);

    /** GEGLU as diffusers: x [..., 2C] → value · gelu(gate) with value = x[..., :C], gate = x[..., C:]. */
    Tensor geglu(Tensor x);

    /** a + b, same shape. */
    Tensor add(Tensor a, Tensor b);

    /** a · b elementwise, same shape. */
    Tensor mul(Tensor a, Tensor b);

    /** a · s. */
    Tensor scale(Tensor a, float s);

    /** x [B, C, H, W] + v [B, C] broadcast over H, W (the time embedding added inside a resnet). */
    Tensor addChannels(Tensor x, Tensor v);

    // ---- pooling (the eval models) -------------------------------------------------------------------------
    /** Average pool k×k over x [B, C, H, W]; padded positions are left out of the count unless {@code countPad}. */
    Tensor avgPool2d(Tensor x, int kernel, int stride, int pad, boolean countPad);

    /** Max pool k×k over x [B, C, H, W] (padding never wins). */
    Tensor maxPool2d(Tensor x, int kernel, int stride, int pad);

    // ---- layout ---------------------------------------------------------------------------------------------
    /** Nearest-neighbour resize of x [B, C, H, W] to [B, C, outH, outW] (source index floor(i·H/outH)). */
    Tensor upsampleNearest(Tensor x, int outH, int outW);

    /** Concatenation along {@code axis}; all other dimensions equal. */
    Tensor concat(int axis, Tensor... xs);

    /** x[..., start:end, ...] along {@code axis}. */
    Tensor slice(Tensor x, int axis, int start, int end);

    /** [B, C, H, W] → [B, H·W, C], tokens in row-major (h, w) order. */
    Tensor nchwToNlc(Tensor x);

    /** [B, H·W, C] → [B, C, H, W]. */
    Tensor nlcToNchw(Tensor x, int h, int w);

    /** Rows of {@code table} [V, C] picked by ids → [ids.length, C]. */
    Tensor embedding(Tensor table, int[] ids);

    /**
     * Sinusoidal timestep embedding → [t.length, dim]: {@code f_i = exp(-ln(10000)·i/(half - shift))},
     * {@code [sin(t f), cos(t f)]}, or cos first when {@code flipSinToCos}.
     */
    Tensor timestepEmbedding(float[] t, int dim, boolean flipSinToCos, float downscaleFreqShift);

    // ---- along one axis (captures and steering edits) -------------------------------------------------------
    // x is seen as [outer, n, inner] with n = x.dim(axis): each (outer, inner) position has a vector of n values
    // along the axis, e.g. a token's channels (axis 1 of NCHW [B, C, H·W], axis 2 of NLC [B, L, C]) or a channel's
    // positions (axis 2 of [B, C, H·W]). Sums are fixed-order, so results repeat run to run.

    /** The mean over {@code axis} (negative counts from the end): x's shape without that axis. */
    Tensor mean(Tensor x, int axis);

    /** The projection on u [n] at every position, {@code Σ_k x[o, k, i]·u[k]}: x's shape without {@code axis}. */
    Tensor project(Tensor x, int axis, Tensor u);

    /**
     * Adds a multiple of the direction u [n] to the vectors along {@code axis} ({@code axis ≥ 1}) of the batch rows
     * {@code rows}: {@code x + (a·g(x·u) + b)·u} with {@code g(p) = max(0, p)} if {@code gate}, else p; with a = 0
     * a plain {@code x + b·u} (the projection is not formed). With {@code keepNorm} each edited vector is then
     * rescaled to its length before the edit (unless it became zero). Other rows are copied unchanged.
     */
    Tensor addDirection(Tensor x, int axis, Tensor u, float a, float b, boolean gate, boolean keepNorm, int[] rows);

    /**
     * A per-channel affine map of the values along {@code axis} ({@code axis ≥ 1}, channel k) in the batch rows
     * {@code rows}: where {@code lo[k] ≤ x ≤ hi[k]}, {@code (1−λ)·x + λ·(ω[k]·x + β[k])}, elsewhere x (AcT's
     * transport); {@code keepNorm} as in {@link #addDirection}. Other rows are copied unchanged.
     */
    Tensor transport(Tensor x, int axis, Tensor omega, Tensor beta, Tensor lo, Tensor hi, float lambda, boolean keepNorm, int[] rows);
}
