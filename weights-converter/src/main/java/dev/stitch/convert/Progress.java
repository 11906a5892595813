package dev.stitch.convert;

/** Hears how far a conversion has got, in bytes written; the command line draws a bar from it. */
@FunctionalInterface
public interface Progress {
    /** {@code done} of {@code total} bytes are written; {@code what} names the file being written. */
    void update(String what, long done, long total);

    Progress NONE = (what, done, total) -> {};
}
