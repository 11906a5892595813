// Fused scaled-dot-product attention, flash style: one pass over the keys with an online softmax in f32, so the
// Lq×Lk score matrix never reaches global memory. q [B, Lq, H·D], k and v [B, Lk, H·D], out [B, Lq, H·D], f32.
//
// A block owns 64 queries of one (batch, head) and walks the keys in tiles of BKV. 256 threads as 16×16: thread
// (ty, tx) scores queries ty·4..+3 against keys tx·CPT..+CPT-1, and accumulates output columns tx, tx+16, ... of
// the same four queries. Row max and row sum reduce over the 16 threads of a half-warp with shuffles.
//
// Dynamic shared memory, in floats: Qt [D][64] + Kt [D][BKV] + V [BKV][D] + P [64][BKV+1], with BKV = 64 for D ≤ 64,
// else 32 (CudaBackend computes the same size).
#include "common.cuh"

constexpr int BQ = 64;

template <int D>
__device__ __forceinline__ void flash_attention(const float* __restrict__ q, const float* __restrict__ k,
                                                const float* __restrict__ v, float* __restrict__ out, int lq, int lk,
                                                int heads, float scale, int causal) {
    constexpr int BKV = D <= 64 ? 64 : 32, CPT = BKV / 16, DPT = (D + 15) / 16;
    extern __shared__ __align__(16) float smem[];
    float* Qt = smem;                  // [D][BQ]
    float* Kt = Qt + D * BQ;           // [D][BKV]
    float* Vs = Kt + D * BKV;          // [BKV][D]
    float* Ps = Vs + BKV * D;          // [BQ][BKV + 1]

    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * BQ;
    const long long c = (long long) heads * D;
    const float* qb = q + (long long) b * lq * c + h * D;
    const float* kb = k + (long long) b * lk * c + h * D;
    const float* vb = v + (long long) b * lk * c + h * D;

    for (int e = tid; e < BQ * D; e += blockDim.x) {
        int r = e / D, d = e - r * D;
        Qt[d * BQ + r] = q0 + r < lq ? qb[(long long) (q0 + r) * c + d] : 0.0f;
    }

    float acc[4][DPT], rowMax[4], rowSum[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        rowMax[i] = -INFINITY;
        rowSum[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < DPT; j++) acc[i][j] = 0.0f;
    }

    // Causal: keys beyond the block's last query are masked for every row of it.
    const int kvEnd = causal ? min(lk, q0 + BQ) : lk;
    for (int j0 = 0; j0 < kvEnd; j0 += BKV) {
        __syncthreads();   // the previous tile's Kt, Vs and Ps are no longer read (and Qt is written, first time)
        for (int e = tid; e < BKV * D; e += blockDim.x) {
            int j = e / D, d = e - j * D;
            bool ok = j0 + j < lk;
            Kt[d * BKV + j] = ok ? kb[(long long) (j0 + j) * c + d] : 0.0f;
            Vs[j * D + d] = ok ? vb[(long long) (j0 + j) * c + d] : 0.0f;
        }
        __syncthreads();

        float s[4][CPT];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) s[i][cc] = 0.0f;
#pragma unroll 8
        for (int d = 0; d < D; d++) {
            float4 qa = *reinterpret_cast<const float4*>(&Qt[d * BQ + ty * 4]);
            float qv[4] = {qa.x, qa.y, qa.z, qa.w}, kv[CPT];
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) kv[cc] = Kt[d * BKV + tx * CPT + cc];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int cc = 0; cc < CPT; cc++) s[i][cc] = fmaf(qv[i], kv[cc], s[i][cc]);
        }

#pragma unroll
        for (int i = 0; i < 4; i++) {
            int qi = q0 + ty * 4 + i;
            float mx = -INFINITY;
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                int kj = j0 + tx * CPT + cc;
                bool masked = kj >= lk || (causal && kj > qi);
                s[i][cc] = masked ? -INFINITY : s[i][cc] * scale;
                mx = fmaxf(mx, s[i][cc]);
            }
#pragma unroll
            for (int o = 8; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
            float newMax = fmaxf(rowMax[i], mx);
            float base = newMax == -INFINITY ? 0.0f : newMax;   // a row with nothing visible yet stays all zero
            float corr = expf(rowMax[i] - base);
            float sum = 0.0f;
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                float p = expf(s[i][cc] - base);
                sum += p;
                Ps[(ty * 4 + i) * (BKV + 1) + tx * CPT + cc] = p;
            }
#pragma unroll
            for (int o = 8; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
            rowSum[i] = rowSum[i] * corr + sum;
            rowMax[i] = newMax;
#pragma unroll
            for (int j = 0; j < DPT; j++) acc[i][j] *= corr;
        }
        __syncthreads();

#pragma unroll 4
        for (int j = 0; j < BKV; j++) {
            float p[4], vv[DPT];
#pragma unroll
            for (int i = 0; i < 4; i++) p[i] = Ps[(ty * 4 + i) * (BKV + 1) + j];
#pragma unroll
            for (int dd = 0; dd < DPT; dd++) {
                int d = tx + 16 * dd;
                vv[dd] = (D % 16 == 0 || d < D) ? Vs[j * D + d] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int dd = 0; dd < DPT; dd++) acc[i][dd] = fmaf(p[i], vv[dd], acc[i][dd]);
        }
    }

#pragma unroll
    for (int i = 0; i < 4; i++) {
        int qi = q0 + ty * 4 + i;
        if (qi >= lq) continue;
        float inv = 1.0f / rowSum[i];
        float* o = out + ((long long) b * lq + qi) * c + h * D;
#pragma unroll
        for (int dd = 0; dd < DPT; dd++) {
            int d = tx + 16 * dd;
            if (D % 16 == 0 || d < D) o[d] = acc[i][dd] * inv;
        }
    }
}

// Grid (ceil(Lq/64), heads, B), block 256.
#define FLASH(D) \
    extern "C" __global__ void __launch_bounds__(256) attention_d##D(const float* q, const float* k, const float* v, \
                                                                    float* out, int lq, int lk, int heads, float scale, \
                                                                    int causal) { \
        flash_attention<D>(q, k, v, out, lq, lk, heads, scale, causal); \
    }
FLASH(16)
FLASH(32)
FLASH(40)
FLASH(64)
FLASH(80)
FLASH(128)
FLASH(160)

// Fallback for other head sizes (the VAE's single 512-wide head): scores come from the f32 GEMM, then this row
// softmax in place. s [rows, cols] with row r the query r % lq; causal masks key j > query.
extern "C" __global__ void softmax_rows_f32(float* s, long long rows, int cols, float scale, int causal, int lq, int q0) {
    long long r = blockIdx.x;
    if (r >= rows) return;
    float* x = s + r * cols;
    int visible = causal ? min(cols, (int) (r % lq) + q0 + 1) : cols;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) mx = fmaxf(mx, x[j] * scale);
    __shared__ float red[32];
    mx = warp_max(mx);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = mx;
    __syncthreads();
    mx = -INFINITY;
    for (int i = 0; i < (int) (blockDim.x >> 5); i++) mx = fmaxf(mx, red[i]);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) sum += expf(x[j] * scale - mx);
    float inv = 1.0f / block_sum(sum);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) x[j] = j < visible ? expf(x[j] * scale - mx) * inv : 0.0f;
}
