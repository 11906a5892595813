package dev.stitch.engine.io;

import dev.stitch.kernels.DType;

/** The element types of the safetensors format. F8 types are recognised only to be refused by name. */
public enum SafeDType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    public final int bytes;

    SafeDType(int bytes) { this.bytes = bytes; }

    public boolean isFloat() { return this == F64 || this == F32 || this == F16 || this == BF16; }

    /** The compute dtype this file dtype maps to without conversion, or null (F64 and integers must be converted). */
    public DType computeType() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            default -> null;
        };
    }

    public static SafeDType of(DType d) {
        return switch (d) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
        };
    }
}
