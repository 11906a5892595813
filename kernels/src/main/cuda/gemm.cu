// Matrix products: the tensor-core GEMM of linear layers (f16 / bf16 weights, f32 activations and accumulators,
// bias + activation epilogue) and the f32 GEMM with any strides and a batch (matmul, the exact f32 backend).
#include "gemm_tc.cuh"
#include "gemm_simt.cuh"

// x [M, K] f32 · w [N, Kp]ᵀ (T, K zero-padded to Kp) + bias [N] → y [M, N] f32. Grid (ceil(M/128), ceil(N/128)).
#define GEMM_TC(NAME, T) \
    extern "C" __global__ void __launch_bounds__(tc::THREADS) NAME(const float* x, const T* w, const float* bias, float* y, \
                                                                  int M, int N, int K, int Kp, int act) { \
        tc::gemm_tc<T, false>(x, w, bias, y, M, N, K, Kp, act, tc::ConvGeom{}); \
    }
GEMM_TC(gemm_tc_f16, __half)
GEMM_TC(gemm_tc_bf16, __nv_bfloat16)

// The general f32 GEMM; grid (ceil(M/64), ceil(N/64), batch). bias may be null.
extern "C" __global__ void __launch_bounds__(simt::THREADS)
gemm_f32(const float* a, const float* b, const float* bias, float* c, int M, int N, int K, int act,
         long long sAm, long long sAk, long long sBk, long long sBn, long long sCm, long long sCn, int zInner,
         long long aOuter, long long aInner, long long bOuter, long long bInner, long long cOuter, long long cInner,
         long long aOff, long long cOff) {
    simt::Strides s{sAm, sAk, sBk, sBn, sCm, sCn, zInner, aOuter, aInner, bOuter, bInner, cOuter, cInner, aOff, cOff};
    simt::gemm_simt<false>(a, b, bias, c, M, N, K, act, s, simt::ConvGeom{});
}
