// The tensor-core GEMM shared by gemm.cu (linear layers) and conv.cu (implicit-GEMM convolution).
//
//   C[m, n] = act(Σ_k A[m, k] · B[n, k] + bias[n])
//
// A is an f32 activation: rows of x for a linear layer, or gathered on the fly from the NCHW input for a convolution
// (no im2col buffer). It is converted to T (f16 or bf16) on its way into shared memory, so it is staged through
// registers: the global loads of tile k+1 are issued before the tensor-core work on tile k and stored after it.
// B is the weight, already T, laid out [N, Kp] with K padded with zeros to a multiple of BK at upload; it goes
// global → shared with cp.async. Two shared-memory stages (double buffering), one __syncthreads per k-tile.
//
// Block tile 128×128×32, 8 warps as 2 (M) × 4 (N), warp tile 64×32 = 4×4 mma.sync.m16n8k16 with f32 accumulators.
// Fragments come from shared memory with ldmatrix; rows are padded to 40 elements (80 bytes) so that the eight rows
// an ldmatrix phase reads fall in distinct banks.
#pragma once
#include "common.cuh"

namespace tc {

constexpr int BM = 128, BN = 128, BK = 32, LDS = BK + 8, THREADS = 256;

// Convolution geometry; unused (all zero) for a plain GEMM.
struct ConvGeom {
    const int* ktab;   // per k: c << 16 | dy << 8 | dx
    int cin, h, w, stride, pt, pl, ho, wo;
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t) __cvta_generic_to_shared(p); }

// 16 bytes global → shared, or 16 zero bytes when !valid (src-size 0 reads nothing).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

template <typename T> __device__ __forceinline__ void mma16816(float* c, const uint32_t* a, const uint32_t* b);
template <> __device__ __forceinline__ void mma16816<__half>(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
template <> __device__ __forceinline__ void mma16816<__nv_bfloat16>(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// The A tile a thread carries in registers between its global load and its shared store: 16 values.
// Dense: rows (tid/8) + 32·i, columns (tid%8)·4 .. +3 (four float4 loads, coalesced along k).
// Conv:  row tid%128 (consecutive threads → consecutive output pixels → coalesced along x), k pairs
//        2·(tid/128) + 4·j, j < 8.
template <bool CONV>
struct ATile {
    float v[16];
};

template <typename T, bool CONV>
__device__ __forceinline__ void gemm_tc(const float* __restrict__ A, const T* __restrict__ B, const float* __restrict__ bias,
                                        float* __restrict__ C, int M, int N, int K, int Kp, int act, ConvGeom g) {
    __shared__ __align__(16) T As[2][BM][LDS];
    __shared__ __align__(16) T Bs[2][BN][LDS];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 2, wn = warp & 3;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int numK = Kp / BK;

    // Per-thread fixed part of the A addressing.
    const bool vecA = (K & 3) == 0;
    long long convBase = 0;
    int iy0 = 0, ix0 = 0;
    bool convRow = false;
    if (CONV) {
        int m = m0 + (tid & (BM - 1));
        convRow = m < M;
        int hw = g.ho * g.wo, img = convRow ? m / hw : 0, p = convRow ? m - img * hw : 0;
        int oy = p / g.wo, ox = p - oy * g.wo;
        iy0 = oy * g.stride - g.pt;
        ix0 = ox * g.stride - g.pl;
        convBase = (long long) img * g.cin * g.h * g.w;
    }

    auto loadA = [&](ATile<CONV>& t, int k0) {
        if (!CONV) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int m = m0 + (tid >> 3) + 32 * i, k = k0 + (tid & 7) * 4;
                const float* p = A + (long long) m * K + k;
                if (vecA) {
                    float4 q = (m < M && k < K) ? *reinterpret_cast<const float4*>(p) : make_float4(0.f, 0.f, 0.f, 0.f);
                    t.v[4 * i] = q.x; t.v[4 * i + 1] = q.y; t.v[4 * i + 2] = q.z; t.v[4 * i + 3] = q.w;
                } else {
#pragma unroll
                    for (int e = 0; e < 4; e++) t.v[4 * i + e] = (m < M && k + e < K) ? p[e] : 0.0f;
                }
            }
        } else {
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int k = k0 + 2 * (tid >> 7) + 4 * j + e;
                    float v = 0.0f;
                    if (convRow && k < K) {
                        int code = __ldg(g.ktab + k);
                        int c = code >> 16, iy = iy0 + ((code >> 8) & 255), ix = ix0 + (code & 255);
                        if ((unsigned) iy < (unsigned) g.h && (unsigned) ix < (unsigned) g.w)
                            v = A[convBase + ((long long) c * g.h + iy) * g.w + ix];
                    }
                    t.v[2 * j + e] = v;
                }
            }
        }
    };

    auto storeA = [&](const ATile<CONV>& t, int s) {
        if (!CONV) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                uint2 q = make_uint2(pack2<T>(t.v[4 * i], t.v[4 * i + 1]), pack2<T>(t.v[4 * i + 2], t.v[4 * i + 3]));
                *reinterpret_cast<uint2*>(&As[s][(tid >> 3) + 32 * i][(tid & 7) * 4]) = q;
            }
        } else {
#pragma unroll
            for (int j = 0; j < 8; j++)
                *reinterpret_cast<uint32_t*>(&As[s][tid & (BM - 1)][2 * (tid >> 7) + 4 * j]) = pack2<T>(t.v[2 * j], t.v[2 * j + 1]);
        }
    };

    auto loadB = [&](int s, int k0) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int chunk = tid + THREADS * i, row = chunk >> 2, ck = chunk & 3;
            int n = n0 + row;
            bool valid = n < N;
            const T* src = valid ? B + (long long) n * Kp + k0 + ck * 8 : B;
            cp_async16(&Bs[s][row][ck * 8], src, valid);
        }
        cp_async_commit();
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;

    ATile<CONV> a;
    loadB(0, 0);
    loadA(a, 0);
    storeA(a, 0);
    cp_async_wait_all();
    __syncthreads();

    for (int kt = 0; kt < numK; kt++) {
        const int cur = kt & 1;
        const bool more = kt + 1 < numK;
        if (more) {
            loadB(cur ^ 1, (kt + 1) * BK);
            loadA(a, (kt + 1) * BK);
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) ldmatrix_x4(af[i], &As[cur][wm * 64 + i * 16 + (lane & 15)][kk + (lane >> 4) * 8]);
#pragma unroll
            for (int jp = 0; jp < 2; jp++) {
                uint32_t r[4];
                ldmatrix_x4(r, &Bs[cur][wn * 32 + jp * 16 + (lane & 7) + ((lane >> 4) << 3)][kk + ((lane >> 3) & 1) * 8]);
                bf[2 * jp][0] = r[0];
                bf[2 * jp][1] = r[1];
                bf[2 * jp + 1][0] = r[2];
                bf[2 * jp + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) mma16816<T>(acc[i][j], af[i], bf[j]);
        }
        if (more) storeA(a, cur ^ 1);
        cp_async_wait_all();
        __syncthreads();
    }

    // Epilogue: accumulator r of (i, j) sits at row g (+8 for r ≥ 2), column 2·tig (+1 for odd r) of that 16×8 tile.
    const int gid = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int m = m0 + wm * 64 + i * 16 + gid + half * 8;
            if (m >= M) continue;
            long long rowBase;
            int hw = 0;
            if (CONV) {
                hw = g.ho * g.wo;
                int img = m / hw, p = m - img * hw;
                rowBase = (long long) img * N * hw + p;
            } else {
                rowBase = (long long) m * N;
            }
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int n = n0 + wn * 32 + j * 8 + tig * 2 + e;
                    if (n >= N) continue;
                    float v = acc[i][j][half * 2 + e] + (bias ? bias[n] : 0.0f);
                    v = activate(v, act);
                    if (CONV) C[rowBase + (long long) n * hw] = v;
                    else C[rowBase + n] = v;
                }
        }
}

}  // namespace tc
