package dev.stitch.kernels.cuda;

import java.util.Arrays;

/**
 * Every {@code extern "C"} entry point the backend launches: the {@code .cu} file (module) it lives in, and its
 * parameter list as one letter per parameter: {@code p} device pointer, {@code l} 64-bit integer, {@code i} 32-bit
 * integer, {@code f} float. Launches are checked against the letters, and a test checks the letters against the PTX,
 * so a mismatched argument list fails loudly instead of reading garbage on the device.
 */
enum Kernel {
    SILU("elementwise", "silu_f32", "ppl"),
    GELU("elementwise", "gelu_f32", "ppl"),
    RELU("elementwise", "relu_f32", "ppl"),
    TANH("elementwise", "tanh_f32", "ppl"),
    GEGLU("elementwise", "geglu_f32", "ppli"),
    ADD("elementwise", "add_f32", "pppl"),
    MUL("elementwise", "mul_f32", "pppl"),
    SCALE("elementwise", "scale_f32", "pfpl"),
    ADD_CHANNELS("elementwise", "add_channels_f32", "pppli"),
    CAST_F32_F32("elementwise", "cast_f32_f32", "pplii"),
    CAST_F32_F16("elementwise", "cast_f32_f16", "pplii"),
    CAST_F32_BF16("elementwise", "cast_f32_bf16", "pplii"),
    CAST_F16_F32("elementwise", "cast_f16_f32", "pplii"),
    CAST_F16_F16("elementwise", "cast_f16_f16", "pplii"),
    CAST_F16_BF16("elementwise", "cast_f16_bf16", "pplii"),
    CAST_BF16_F32("elementwise", "cast_bf16_f32", "pplii"),
    CAST_BF16_F16("elementwise", "cast_bf16_f16", "pplii"),
    CAST_BF16_BF16("elementwise", "cast_bf16_bf16", "pplii"),

    TRANSPOSE("layout", "transpose_f32", "ppii"),
    COPY_ROWS("layout", "copy_rows_f32", "ppllllll"),
    UPSAMPLE_NEAREST("layout", "upsample_nearest_f32", "ppliiii"),
    EMBEDDING("layout", "embedding_f32", "pppii"),
    POOL2D("layout", "pool2d_f32", "ppliiiiiiiii"),
    TIMESTEP_EMBEDDING("layout", "timestep_embedding_f32", "ppiiif"),

    GROUP_NORM("norm", "group_norm_f32", "ppppiiifi"),
    LAYER_NORM("norm", "layer_norm_f32", "pppplif"),

    GEMM_TC_F16("gemm", "gemm_tc_f16", "ppppiiiii"),
    GEMM_TC_BF16("gemm", "gemm_tc_bf16", "ppppiiiii"),
    GEMM_F32("gemm", "gemm_f32", "ppppiiiillllllillllllll"),

    CONV_TC_F16("conv", "conv_tc_f16", "ppppiiiiipiiiiiiii"),
    CONV_TC_BF16("conv", "conv_tc_bf16", "ppppiiiiipiiiiiiii"),
    CONV_F32("conv", "conv_f32", "ppppiiiipiiiiiiii"),

    ATTENTION_D16("attention", "attention_d16", "ppppiiifi"),
    ATTENTION_D32("attention", "attention_d32", "ppppiiifi"),
    ATTENTION_D40("attention", "attention_d40", "ppppiiifi"),
    ATTENTION_D64("attention", "attention_d64", "ppppiiifi"),
    ATTENTION_D80("attention", "attention_d80", "ppppiiifi"),
    ATTENTION_D128("attention", "attention_d128", "ppppiiifi"),
    ATTENTION_D160("attention", "attention_d160", "ppppiiifi"),
    SOFTMAX_ROWS("attention", "softmax_rows_f32", "plifiii"),

    MEAN_AXIS("along", "mean_axis_f32", "pplil"),
    PROJECT("along", "project_f32", "ppplil"),
    ADD_DIRECTION("along", "add_direction_f32", "pppplillffii"),
    TRANSPORT("along", "transport_f32", "ppppppplillfi");

    final String module;
    final String entry;
    final String params;

    Kernel(String module, String entry, String params) {
        this.module = module;
        this.entry = entry;
        this.params = params;
    }

    /** Throws unless {@code args} match the parameter letters (null stands for a null device pointer). */
    void check(Object[] args) {
        boolean ok = args.length == params.length();
        for (int i = 0; ok && i < args.length; i++) {
            Object a = args[i];
            ok = switch (params.charAt(i)) {
                case 'p' -> a == null || a instanceof DeviceStorage;
                case 'l' -> a instanceof Long;
                case 'i' -> a instanceof Integer;
                case 'f' -> a instanceof Float;
                default -> false;
            };
        }
        if (!ok) throw new IllegalStateException(entry + "(" + params + ") launched with " + Arrays.toString(
            Arrays.stream(args).map(a -> a == null ? "null" : a.getClass().getSimpleName()).toArray()));
    }

    /** The fused attention kernel for head size {@code d}, or null when the GEMM fallback must be used. */
    static Kernel attention(int d) {
        return switch (d) {
            case 16 -> ATTENTION_D16;
            case 32 -> ATTENTION_D32;
            case 40 -> ATTENTION_D40;
            case 64 -> ATTENTION_D64;
            case 80 -> ATTENTION_D80;
            case 128 -> ATTENTION_D128;
            case 160 -> ATTENTION_D160;
            default -> null;
        };
    }
}
