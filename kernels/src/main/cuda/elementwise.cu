// Elementwise ops on f32 activations, and the dtype casts used to upload weights (f32/f16/bf16, any pair).
#include "common.cuh"

extern "C" __global__ void silu_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = silu_f(x[i]);
}

extern "C" __global__ void gelu_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = gelu_f(x[i]);
}

extern "C" __global__ void tanh_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = tanhf(x[i]);
}

extern "C" __global__ void relu_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = activate(x[i], ACT_RELU);
}

// x [rows, 2c] → y [rows, c]: value · gelu(gate), value = x[:, :c], gate = x[:, c:] (diffusers' GEGLU).
extern "C" __global__ void geglu_f32(const float* __restrict__ x, float* __restrict__ y, long long rows, int c) {
    FOR_EACH(i, rows * c) {
        long long r = i / c;
        int j = (int) (i - r * c);
        const float* row = x + r * 2 * c;
        y[i] = row[j] * gelu_f(row[c + j]);
    }
}

extern "C" __global__ void add_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = a[i] + b[i];
}

extern "C" __global__ void mul_f32(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = a[i] * b[i];
}

extern "C" __global__ void scale_f32(const float* __restrict__ a, float s, float* __restrict__ y, long long n) {
    FOR_EACH(i, n) y[i] = a[i] * s;
}

// x [B, C, spatial] + v [B, C] broadcast over the spatial positions.
extern "C" __global__ void add_channels_f32(const float* __restrict__ x, const float* __restrict__ v, float* __restrict__ y,
                                            long long n, int spatial) {
    FOR_EACH(i, n) y[i] = x[i] + v[i / spatial];
}

// src [rows, cols] → dst [rows, dstCols] in another dtype; columns cols..dstCols-1 become zero (GEMM K padding).
template <typename S, typename D>
__device__ void cast2d(const S* __restrict__ src, D* __restrict__ dst, long long rows, int cols, int dstCols) {
    FOR_EACH(i, rows * dstCols) {
        long long r = i / dstCols;
        int c = (int) (i - r * dstCols);
        dst[i] = from_f32<D>(c < cols ? to_f32(src[r * cols + c]) : 0.0f);
    }
}

#define CAST(SN, S, DN, D) \
    extern "C" __global__ void cast_##SN##_##DN(const S* src, D* dst, long long rows, int cols, int dstCols) { \
        cast2d<S, D>(src, dst, rows, cols, dstCols); \
    }
CAST(f32, float, f32, float)
CAST(f32, float, f16, __half)
CAST(f32, float, bf16, __nv_bfloat16)
CAST(f16, __half, f32, float)
CAST(f16, __half, f16, __half)
CAST(f16, __half, bf16, __nv_bfloat16)
CAST(bf16, __nv_bfloat16, f32, float)
CAST(bf16, __nv_bfloat16, f16, __half)
CAST(bf16, __nv_bfloat16, bf16, __nv_bfloat16)
