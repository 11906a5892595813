package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;

/** A safetensors file that cannot be read as such. The message is one line naming the file and, where known, the tensor. */
public final class SafeTensorsException extends UserError {
    public SafeTensorsException(String message) { super(message); }
}
