// Group norm (+ fused SiLU) and layer norm over f32 activations. Statistics in f32 with two passes (mean, then the
// centred sum of squares), which keeps the variance accurate where one-pass E[x²] - E[x]² would cancel.
#include "common.cuh"

// x [B, C, spatial]; one block per (batch row, group); grid = B·groups.
extern "C" __global__ void group_norm_f32(const float* __restrict__ x, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, float* __restrict__ y, int c, int spatial,
                                          int groups, float eps, int silu) {
    int b = blockIdx.x / groups, g = blockIdx.x - b * groups, cg = c / groups;
    long long base = ((long long) b * c + (long long) g * cg) * spatial, len = (long long) cg * spatial;
    const float* xs = x + base;
    float s = 0.0f;
    for (long long i = threadIdx.x; i < len; i += blockDim.x) s += xs[i];
    float mean = block_sum(s) / (float) len;
    float q = 0.0f;
    for (long long i = threadIdx.x; i < len; i += blockDim.x) { float d = xs[i] - mean; q += d * d; }
    float inv = rsqrtf(block_sum(q) / (float) len + eps);
    for (long long i = threadIdx.x; i < len; i += blockDim.x) {
        int ch = g * cg + (int) (i / spatial);
        float v = (xs[i] - mean) * inv * gamma[ch] + beta[ch];
        y[base + i] = silu ? silu_f(v) : v;
    }
}

// Layer norm over the last dimension c of x [rows, c]; one warp per row, blockDim 256 (8 rows a block).
extern "C" __global__ void layer_norm_f32(const float* __restrict__ x, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, float* __restrict__ y, long long rows, int c,
                                          float eps) {
    long long r = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (r >= rows) return;
    int lane = threadIdx.x & 31;
    const float* xr = x + r * c;
    float s = 0.0f;
    for (int i = lane; i < c; i += 32) s += xr[i];
    float mean = warp_sum(s) / (float) c;
    float q = 0.0f;
    for (int i = lane; i < c; i += 32) { float d = xr[i] - mean; q += d * d; }
    float inv = rsqrtf(warp_sum(q) / (float) c + eps);
    for (int i = lane; i < c; i += 32) y[r * c + i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
}
