package dev.stitch.kernels;

/** Element types a tensor can hold. Activations are always {@link #F32}; weights keep their file type. */
public enum DType {
    F32(4), F16(2), BF16(2);

    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** Widens one f16 value (IEEE half, as stored in the low 16 bits) to f32. */
    public static float f16ToF32(short h) { return Float.float16ToFloat(h); }

    /** Widens one bf16 value (the high 16 bits of an f32) to f32. */
    public static float bf16ToF32(short h) { return Float.intBitsToFloat((h & 0xffff) << 16); }

    /** Narrows f32 to f16 with round-to-nearest-even. */
    public static short f32ToF16(float f) { return Float.floatToFloat16(f); }

    /** Narrows f32 to bf16 with round-to-nearest-even (NaN stays NaN). */
    public static short f32ToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
