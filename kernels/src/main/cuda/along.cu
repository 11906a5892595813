// Ops along one axis of f32 activations, for captures and steering edits. x is seen as [outer, n, inner]: position
// (o, i) has the vector x[o, 0..n, i] (a token's channels: inner = 1 for [B, L, C], inner = H·W for [B, C, H·W]).
// One thread per position walks its vector in order, summing in double: fixed-order sums, as the CPU backend's, and
// as exact as the reference. Adjacent threads read adjacent positions, so reads coalesce wherever inner > 1.
#include "common.cuh"

// y[o, i] = mean over k of x[o, k, i].
extern "C" __global__ void mean_axis_f32(const float* __restrict__ x, float* __restrict__ y, long long outer, int n,
                                         long long inner) {
    FOR_EACH(idx, outer * inner) {
        long long o = idx / inner, i = idx - o * inner;
        const float* v = x + o * n * inner + i;
        double s = 0.0;
        for (int k = 0; k < n; k++) s += v[k * inner];
        y[idx] = (float) (s / n);
    }
}

// y[o, i] = Σ_k x[o, k, i]·u[k].
extern "C" __global__ void project_f32(const float* __restrict__ x, const float* __restrict__ u, float* __restrict__ y,
                                       long long outer, int n, long long inner) {
    FOR_EACH(idx, outer * inner) {
        long long o = idx / inner, i = idx - o * inner;
        const float* v = x + o * n * inner + i;
        double s = 0.0;
        for (int k = 0; k < n; k++) s += (double) v[k * inner] * u[k];
        y[idx] = (float) s;
    }
}

// Copies the vector v to w (stride inner) when its row is not chosen; true if it did.
__device__ __forceinline__ bool copied_unchosen(const float* v, float* w, int n, long long inner, int chosen) {
    if (!chosen)
        for (int k = 0; k < n; k++) w[k * inner] = v[k * inner];
    return !chosen;
}

// Rescales the edited vector y (stride inner) to the length sqrt(before), unless it is zero (or NaN).
__device__ __forceinline__ void keep_norm(float* y, int n, long long inner, double before) {
    double after = 0.0;
    for (int k = 0; k < n; k++) { double e = y[k * inner]; after += e * e; }
    if (!(after > 0.0)) return;
    double f = sqrt(before) / sqrt(after);
    for (int k = 0; k < n; k++) y[k * inner] = (float) (y[k * inner] * f);
}

// For the vectors of batch rows with sel[row] != 0 (row = o / perRow): y = x + (a·g(x·u) + b)·u, g(p) = max(0, p) if
// gate, else p; a = 0 is a plain x + b·u. Then, if keepNorm, y is rescaled to x's length. Other rows are copied.
extern "C" __global__ void add_direction_f32(const float* __restrict__ x, const float* __restrict__ u,
                                             const int* __restrict__ sel, float* __restrict__ y, long long outer, int n,
                                             long long inner, long long perRow, float a, float b, int gate, int keepNorm) {
    FOR_EACH(idx, outer * inner) {
        long long o = idx / inner, i = idx - o * inner;
        const float* v = x + o * n * inner + i;
        float* w = y + o * n * inner + i;
        if (copied_unchosen(v, w, n, inner, sel[o / perRow])) continue;
        double p = 0.0, before = 0.0;
        for (int k = 0; k < n; k++) {
            double e = v[k * inner];
            p += e * u[k];
            before += e * e;
        }
        // p < 0 ? 0 : p keeps NaN, as Math.max does (fmax would drop it)
        double coef = a == 0.0f ? (double) b : a * (gate ? (p < 0.0 ? 0.0 : p) : p) + b;
        for (int k = 0; k < n; k++) w[k * inner] = (float) (v[k * inner] + coef * u[k]);
        if (keepNorm) keep_norm(w, n, inner, before);
    }
}

// AcT's transport for the vectors of selected rows: channel k becomes (1−λ)x + λ(ω[k]x + β[k]) where lo[k] ≤ x ≤ hi[k]
// and stays x elsewhere (NaN is never outside); keepNorm as above. Other rows are copied.
extern "C" __global__ void transport_f32(const float* __restrict__ x, const float* __restrict__ omega,
                                         const float* __restrict__ beta, const float* __restrict__ lo,
                                         const float* __restrict__ hi, const int* __restrict__ sel, float* __restrict__ y,
                                         long long outer, int n, long long inner, long long perRow, float lambda,
                                         int keepNorm) {
    FOR_EACH(idx, outer * inner) {
        long long o = idx / inner, i = idx - o * inner;
        const float* v = x + o * n * inner + i;
        float* w = y + o * n * inner + i;
        if (copied_unchosen(v, w, n, inner, sel[o / perRow])) continue;
        double before = 0.0;
        for (int k = 0; k < n; k++) {
            double e = v[k * inner];
            before += e * e;
            bool outside = e < lo[k] || e > hi[k];
            w[k * inner] = outside ? (float) e : (float) ((1.0 - lambda) * e + lambda * (omega[k] * e + beta[k]));
        }
        if (keepNorm) keep_norm(w, n, inner, before);
    }
}
