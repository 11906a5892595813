// Data movement on f32 activations: transposes (NCHW <-> NLC), row copies (concat, slice), nearest upsampling,
// embedding lookup, pooling, and the sinusoidal timestep embedding.
#include "common.cuh"

#define TILE 32

// Batched transpose: src [z][rows][cols] → dst [z][cols][rows]. NCHW→NLC is rows=C, cols=HW; NLC→NCHW the reverse.
// Block (32, 8), grid (ceil(cols/32), ceil(rows/32), batch); the tile's padding column avoids bank conflicts.
extern "C" __global__ void transpose_f32(const float* __restrict__ src, float* __restrict__ dst, int rows, int cols) {
    __shared__ float tile[TILE][TILE + 1];
    long long plane = (long long) rows * cols;
    src += blockIdx.z * plane;
    dst += blockIdx.z * plane;
    int c0 = blockIdx.x * TILE, r0 = blockIdx.y * TILE;
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        int r = r0 + j, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[j][threadIdx.x] = src[(long long) r * cols + c];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
        int c = c0 + j, r = r0 + threadIdx.x;
        if (r < rows && c < cols) dst[(long long) c * rows + r] = tile[threadIdx.x][j];
    }
}

// dst[o·dstStride + dstOffset + i] = src[o·srcStride + srcOffset + i] for o < outer, i < len: one concat input, or a slice.
extern "C" __global__ void copy_rows_f32(const float* __restrict__ src, float* __restrict__ dst, long long outer, long long len,
                                         long long srcStride, long long srcOffset, long long dstStride, long long dstOffset) {
    FOR_EACH(idx, outer * len) {
        long long o = idx / len, i = idx - o * len;
        dst[o * dstStride + dstOffset + i] = src[o * srcStride + srcOffset + i];
    }
}

// x [planes, h, w] → y [planes, oh, ow], source index floor(i·h/oh).
extern "C" __global__ void upsample_nearest_f32(const float* __restrict__ x, float* __restrict__ y, long long planes,
                                                int h, int w, int oh, int ow) {
    FOR_EACH(idx, planes * oh * ow) {
        long long p = idx / ((long long) oh * ow);
        int rem = (int) (idx - p * oh * ow), oy = rem / ow, ox = rem - oy * ow;
        int sy = (int) ((long long) oy * h / oh), sx = (int) ((long long) ox * w / ow);
        y[idx] = x[(p * h + sy) * w + sx];
    }
}

// y [n, c] = rows of table [v, c] picked by ids (checked on the host).
extern "C" __global__ void embedding_f32(const float* __restrict__ table, const int* __restrict__ ids, float* __restrict__ y,
                                         int n, int c) {
    FOR_EACH(idx, (long long) n * c) {
        int i = (int) (idx / c), j = (int) (idx - (long long) i * c);
        y[idx] = table[(long long) ids[i] * c + j];
    }
}

// k×k pooling of x [planes, h, w] → y [planes, oh, ow]; padding never counts for max, and for average only if countPad.
extern "C" __global__ void pool2d_f32(const float* __restrict__ x, float* __restrict__ y, long long planes, int h, int w,
                                      int oh, int ow, int k, int stride, int pad, int isMax, int countPad) {
    FOR_EACH(idx, planes * oh * ow) {
        long long p = idx / ((long long) oh * ow);
        int rem = (int) (idx - p * oh * ow), oy = rem / ow, ox = rem - oy * ow;
        const float* plane = x + p * h * w;
        float acc = isMax ? -INFINITY : 0.0f;
        int count = 0;
        for (int dy = 0; dy < k; dy++) {
            int iy = oy * stride + dy - pad;
            if (iy < 0 || iy >= h) continue;
            for (int dx = 0; dx < k; dx++) {
                int ix = ox * stride + dx - pad;
                if (ix < 0 || ix >= w) continue;
                float v = plane[iy * w + ix];
                acc = isMax ? fmaxf(acc, v) : acc + v;
                count++;
            }
        }
        y[idx] = isMax ? acc : acc / (float) (countPad ? k * k : count);
    }
}

// [n, dim]: f_i = exp(-ln(10000)·i/(half - shift)), [sin(t f), cos(t f)] (cos first if flip). The exponent, frequency
// and product are rounded to f32 at the same points as diffusers (and the reference backend); exp/sin/cos in double.
extern "C" __global__ void timestep_embedding_f32(const float* __restrict__ t, float* __restrict__ y, int n, int dim,
                                                  int flip, float shift) {
    int half = dim / 2;
    FOR_EACH(idx, (long long) n * half) {
        int r = (int) (idx / half), i = (int) (idx - (long long) r * half);
        float e = (float) (-log(10000.0)) * (float) i / ((float) half - shift);
        float f = (float) exp((double) e);
        float arg = t[r] * f;
        float s = (float) sin((double) arg), c = (float) cos((double) arg);
        y[(long long) r * dim + i] = flip ? c : s;
        y[(long long) r * dim + half + i] = flip ? s : c;
    }
}
