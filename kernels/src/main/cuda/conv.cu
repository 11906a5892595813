// 2-D convolution as an implicit GEMM: M = output pixels (B·Ho·Wo), N = output channels, K = Cin·kh·kw. The input
// patch is gathered from NCHW straight into shared memory (no im2col buffer) through a per-k table of
// (channel, dy, dx) built once per weight shape; zero padding, any stride and per-side padding come from bounds tests.
#include "gemm_tc.cuh"
#include "gemm_simt.cuh"

// x [B, Cin, H, W] f32, w [Cout, Kp] (T), bias [Cout] or null → y [B, Cout, Ho, Wo] f32. Grid (ceil(M/128), ceil(Cout/128)).
#define CONV_TC(NAME, T) \
    extern "C" __global__ void __launch_bounds__(tc::THREADS) \
    NAME(const float* x, const T* w, const float* bias, float* y, int M, int N, int K, int Kp, int act, const int* ktab, \
         int cin, int h, int wd, int stride, int pt, int pl, int ho, int wo) { \
        tc::gemm_tc<T, true>(x, w, bias, y, M, N, K, Kp, act, tc::ConvGeom{ktab, cin, h, wd, stride, pt, pl, ho, wo}); \
    }
CONV_TC(conv_tc_f16, __half)
CONV_TC(conv_tc_bf16, __nv_bfloat16)

// f32 weights [Cout, K]; grid (ceil(M/64), ceil(Cout/64)).
extern "C" __global__ void __launch_bounds__(simt::THREADS)
conv_f32(const float* x, const float* w, const float* bias, float* y, int M, int N, int K, int act, const int* ktab,
         int cin, int h, int wd, int stride, int pt, int pl, int ho, int wo) {
    // B(k, n) = w[n·K + k]
    simt::Strides s{0, 0, 1, K, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    simt::gemm_simt<true>(x, w, bias, y, M, N, K, act, s, simt::ConvGeom{ktab, cin, h, wd, stride, pt, pl, ho, wo});
}
