package dev.stitch.engine.schedulers;

/** What the model predicts: the noise (ε) or the velocity v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0 (SD2-768). */
enum Prediction {
    EPSILON, V_PREDICTION;

    static Prediction from(SchedulerConfig cfg) {
        return cfg.choice("prediction_type", "epsilon", "v_prediction").equals("epsilon") ? EPSILON : V_PREDICTION;
    }
}
