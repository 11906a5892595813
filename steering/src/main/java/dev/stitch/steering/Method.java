package dev.stitch.steering;

import dev.stitch.kernels.ParameterError;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a steering vector is extracted from paired activations (docs/design.md §5). */
public enum Method {
    /** Difference in means, the refusal-direction estimator. */
    MEAN_DIFF("mean-diff"),
    /** First principal component of the centered paired differences (repeng's pca_diff), sign aligned with the mean difference. */
    PCA_DIFF("pca-diff"),
    /** First principal component of pair-centered activations (repeng's pca_center), sign aligned with the mean difference. */
    PCA_CENTER("pca-center"),
    /** Normal of an L2-regularised logistic-regression probe separating positives from negatives. */
    PROBE("probe"),
    /** Whitened mean difference: Σ⁻¹(μ₊ − μ₋) with Ledoit–Wolf shrinkage of the pooled within-class covariance. */
    LDA("lda"),
    /** Linear-AcT: per-channel affine transport fitted on sorted samples, identity outside the source support. */
    ACT_LINEAR("act-linear"),
    /**
     * Linear-AcT fitted incrementally, as apple/ml-act's "incr" mode: tap by tap in call order, each fitted on the
     * activations that reach it with the transports of the earlier taps applied ({@link PairedActivations#captureIncremental}).
     */
    ACT_LINEAR_INCREMENTAL("act-linear-incremental"),
    /** Mean-AcT: per-channel shift by the difference of means (ω = 1). */
    ACT_MEAN("act-mean");

    public final String cliName;

    Method(String cliName) { this.cliName = cliName; }

    public boolean isTransport() { return this == ACT_LINEAR || this == ACT_LINEAR_INCREMENTAL || this == ACT_MEAN; }

    /** Whether each tap is fitted on activations already steered at the earlier taps (a capture of its own). */
    public boolean isIncremental() { return this == ACT_LINEAR_INCREMENTAL; }

    public static Method parse(String s) {
        for (Method m : values()) if (m.cliName.equals(s)) return m;
        throw new ParameterError("method", s, "expected one of "
            + Arrays.stream(values()).map(m -> m.cliName).collect(Collectors.joining(", ")));
    }
}
