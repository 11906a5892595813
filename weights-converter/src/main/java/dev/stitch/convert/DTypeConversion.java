package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Converts runs of little-endian elements between the float types a checkpoint can hold (F64, F32, F16, BF16).
 * Narrowing rounds to nearest even; widening is exact, so f16 weights widened to f32 are bit-identical to the values
 * they stand for.
 */
final class DTypeConversion {
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private DTypeConversion() {}

    static boolean convertible(SafeDType from, SafeDType to) { return from == to || (from.isFloat() && to.isFloat()); }

    /**
     * Converts {@code n} elements from {@code src[srcIndex..]} to {@code dst[dstIndex..]} and returns how many finite
     * inputs became infinite (values beyond the narrower type's range).
     */
    static long convert(MemorySegment src, SafeDType from, long srcIndex, MemorySegment dst, SafeDType to, long dstIndex, long n) {
        if (from == to) {
            MemorySegment.copy(src, srcIndex * from.bytes, dst, dstIndex * to.bytes, n * from.bytes);
            return 0;
        }
        if (!from.isFloat() || !to.isFloat()) throw new IllegalArgumentException("cannot convert " + from + " to " + to);
        long overflow = 0;
        for (long i = 0; i < n; i++) {
            double v = switch (from) {
                case F64 -> src.getAtIndex(F64, srcIndex + i);
                case F32 -> src.getAtIndex(F32, srcIndex + i);
                case F16 -> DType.f16ToF32(src.getAtIndex(I16, srcIndex + i));
                case BF16 -> DType.bf16ToF32(src.getAtIndex(I16, srcIndex + i));
                default -> throw new IllegalStateException();
            };
            float f = (float) v;
            switch (to) {
                case F64 -> dst.setAtIndex(F64, dstIndex + i, v);
                case F32 -> dst.setAtIndex(F32, dstIndex + i, f);
                case F16 -> {
                    short h = DType.f32ToF16(f);
                    dst.setAtIndex(I16, dstIndex + i, h);
                    if (Double.isFinite(v) && Float.isInfinite(DType.f16ToF32(h))) overflow++;
                }
                case BF16 -> {
                    short h = DType.f32ToBf16(f);
                    dst.setAtIndex(I16, dstIndex + i, h);
                    if (Double.isFinite(v) && Float.isInfinite(DType.bf16ToF32(h))) overflow++;
                }
                default -> throw new IllegalStateException();
            }
            if (to == SafeDType.F32 && Double.isFinite(v) && Float.isInfinite(f)) overflow++;
        }
        return overflow;
    }

    /** A whole tensor converted in memory (for the in-memory loader and the zip writer). */
    static StoredTensor converted(StoredTensor t, SafeDType to) {
        if (t.dtype() == to) return t;
        if (!convertible(t.dtype(), to)) throw new IllegalArgumentException(t + " cannot become " + to);
        return new StoredTensor(t.name(), to, t.shape(), () -> {
            MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(t.numel() * to.bytes)]);
            convert(t.bytes(), t.dtype(), 0, out, to, 0, t.numel());
            return out;
        });
    }
}
