package dev.stitch.eval.run;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What an evaluation measures per image (CLIP score, the CLIP probe, the judge, the CLIP similarity to a concept's
 * anchor images) or per setup at the end (FID, KID).
 */
public enum Metric {
    CLIP, PROBE, FID, KID, JUDGE, ANCHOR;

    /** The lower-case name used in run.json and on the command line. */
    public String key() { return name().toLowerCase(Locale.ROOT); }

    /** Parses a {@link #key()} (any case); an unknown name is a {@link SettingError} on {@code metrics}. */
    public static Metric parse(String s) {
        for (Metric m : values()) if (m.key().equals(s.strip().toLowerCase(Locale.ROOT))) return m;
        throw new SettingError("metrics", s, "expected any of " + Arrays.stream(values()).map(Metric::key).collect(Collectors.joining(", ")));
    }

    boolean usesClip() { return this == CLIP || this == PROBE || this == ANCHOR; }

    /** Whether it embeds text, so the CLIP folder needs its tokenizer. */
    boolean embedsText() { return this == CLIP || this == PROBE; }

    boolean usesInception() { return this == FID || this == KID; }
}
