// The f32 GEMM (CUDA cores) shared by gemm.cu and conv.cu: the exact path of the f32 backend, the batched and
// transposed matmul, and the attention fallback for head sizes the fused kernel does not cover.
//
//   C[z][m, n] = act(Σ_k A[z][m, k] · B[z][k, n] + bias[n])
//
// Any strides: A(m, k) = A[za + m·sAm + k·sAk], B(k, n) = B[zb + k·sBk + n·sBn], C(m, n) = C[zc + m·sCm + n·sCn],
// where the batch offset of z is (z / zInner)·outer + (z % zInner)·inner (so [B, L, H·D] attention operands are
// addressed per (batch, head) without a copy), plus a constant aOff / cOff. A convolution gathers A from its NCHW
// input instead.
//
// Block tile 64×64×16, 256 threads each owning a 4×4 block of C; tiles staged through registers into two
// shared-memory stages.
#pragma once
#include "common.cuh"

namespace simt {

constexpr int BM = 64, BN = 64, BK = 16, THREADS = 256;

struct Strides {
    long long sAm, sAk, sBk, sBn, sCm, sCn;
    int zInner;
    long long aOuter, aInner, bOuter, bInner, cOuter, cInner;
    long long aOff, cOff;
};

struct ConvGeom {
    const int* ktab;   // per k: c << 16 | dy << 8 | dx
    int cin, h, w, stride, pt, pl, ho, wo;
};

template <bool CONV>
__device__ __forceinline__ void gemm_simt(const float* __restrict__ A, const float* __restrict__ B,
                                          const float* __restrict__ bias, float* __restrict__ C, int M, int N, int K,
                                          int act, Strides s, ConvGeom g) {
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN, z = blockIdx.z;
    const int zo = z / s.zInner, zi = z - zo * s.zInner;
    A += CONV ? 0 : s.aOff + zo * s.aOuter + zi * s.aInner;
    B += zo * s.bOuter + zi * s.bInner;
    C += CONV ? 0 : s.cOff + zo * s.cOuter + zi * s.cInner;

    // Which index runs fastest across threads when loading: the one with unit stride, so loads coalesce.
    const bool aKFast = !CONV && s.sAk == 1;
    const bool bNFast = s.sBn == 1;

    float ra[4], rb[4];
    auto load = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = tid + THREADS * i;
            int mm = aKFast ? e / BK : e % BM, kk = aKFast ? e % BK : e / BM;
            int m = m0 + mm, k = k0 + kk;
            float v = 0.0f;
            if (m < M && k < K) {
                if (CONV) {
                    int hw = g.ho * g.wo, img = m / hw, p = m - img * hw, oy = p / g.wo, ox = p - oy * g.wo;
                    int code = __ldg(g.ktab + k);
                    int c = code >> 16, iy = oy * g.stride - g.pt + ((code >> 8) & 255), ix = ox * g.stride - g.pl + (code & 255);
                    if ((unsigned) iy < (unsigned) g.h && (unsigned) ix < (unsigned) g.w)
                        v = A[(((long long) img * g.cin + c) * g.h + iy) * g.w + ix];
                } else {
                    v = A[m * s.sAm + k * s.sAk];
                }
            }
            ra[i] = v;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = tid + THREADS * i;
            int nn = bNFast ? e % BN : e / BK, kk = bNFast ? e / BN : e % BK;
            int n = n0 + nn, k = k0 + kk;
            rb[i] = (n < N && k < K) ? B[k * s.sBk + n * s.sBn] : 0.0f;
        }
    };
    auto store = [&](int st) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = tid + THREADS * i;
            int mm = aKFast ? e / BK : e % BM, kk = aKFast ? e % BK : e / BM;
            As[st][kk][mm] = ra[i];
            int nn = bNFast ? e % BN : e / BK, kb = bNFast ? e / BN : e % BK;
            Bs[st][kb][nn] = rb[i];
        }
    };

    float acc[4][4] = {};
    const int numK = (K + BK - 1) / BK;
    load(0);
    store(0);
    __syncthreads();
    for (int kt = 0; kt < numK; kt++) {
        const int cur = kt & 1;
        const bool more = kt + 1 < numK;
        if (more) load((kt + 1) * BK);
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float4 a4 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
            float4 b4 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
            float av[4] = {a4.x, a4.y, a4.z, a4.w}, bv[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        if (more) store(cur ^ 1);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty * 4 + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx * 4 + j;
            if (n >= N) continue;
            float v = activate(acc[i][j] + (bias ? bias[n] : 0.0f), act);
            if (CONV) {
                int hw = g.ho * g.wo, img = m / hw, p = m - img * hw;
                C[((long long) img * N + n) * hw + p] = v;
            } else {
                C[m * s.sCm + n * s.sCn] = v;
            }
        }
    }
}

}  // namespace simt
