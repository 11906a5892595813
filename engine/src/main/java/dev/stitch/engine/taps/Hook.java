package dev.stitch.engine.taps;

/** What can be registered at a tap: an {@link Observer} reads the value, an {@link Editor} replaces it. */
public sealed interface Hook permits Observer, Editor {}
