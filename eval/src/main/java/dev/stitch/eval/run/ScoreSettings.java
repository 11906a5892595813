package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.FeatureCache;
import dev.stitch.kernels.Backend;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * How images are scored: the metrics and what they need. An {@link Evaluation} scores as it generates with these
 * settings ({@link EvalSettings#scoring()}); a {@link Scoring} scores an images-only run later with them. The checks,
 * the models they load and what run.json records of them are here once, so both write the same run folder.
 *
 * @param judgeAnswer what the judge is asked for: yes/no, or a score from 0 to 100
 */
public record ScoreSettings(Set<Metric> metrics, Path clip, String probeConcept, Path inception, Path referenceImages,
                            Path featureCache, JudgeConfig judge, String judgeQuestion, Question.Kind judgeAnswer,
                            int judgeFailureLimit, boolean inlineImages) {
    public ScoreSettings {
        metrics = Set.copyOf(metrics);
        if (judgeAnswer == null) judgeAnswer = Question.Kind.YES_NO;
        if (featureCache == null) featureCache = EvalSettings.defaultFeatureCache();
    }

    /** The judge's question: the one given, else one about the probe concept ("Does ... show", or a 0–100 "How much"). */
    public String question() {
        if (judgeQuestion != null) return judgeQuestion;
        if (probeConcept == null) return null;
        return judgeAnswer == Question.Kind.SCORE ? "How much does this image show " + probeConcept + ", on a scale from 0 to 100?"
            : "Does this image show " + probeConcept + "?";
    }

    /** Every check that needs no model: one {@link SettingError} for the first problem. */
    void check() {
        if (judgeFailureLimit < 1) throw new SettingError("judgeFailureLimit", judgeFailureLimit, "must be at least 1");
        for (Metric m : metrics) {
            if (m.usesClip() && clip == null) throw new SettingError("clip", null, "metric " + m.key() + " needs a transformers CLIP folder");
            if (m.usesInception() && inception == null) throw new SettingError("inception", null, "metric " + m.key() + " needs the FID Inception weights");
            if (m.usesInception() && referenceImages == null) throw new SettingError("referenceImages", null, "metric " + m.key() + " needs a reference image folder");
        }
        if (metrics.contains(Metric.PROBE) && (probeConcept == null || probeConcept.isBlank()))
            throw new SettingError("probeConcept", null, "metric probe needs a concept");
        if (metrics.contains(Metric.JUDGE)) {
            if (judge == null) throw new SettingError("judge", null, "metric judge needs a judge (an OpenAI-compatible API root and model)");
            if (question() == null) throw new SettingError("judgeQuestion", null, "metric judge needs a question (or a probe concept)");
        }
        if (clip != null && !Files.isDirectory(clip)) throw new SettingError("clip", clip, "not a folder");
        if (inception != null && !Files.isRegularFile(inception)) throw new SettingError("inception", inception, "no such file");
        if (referenceImages != null && !Files.isDirectory(referenceImages)) throw new SettingError("referenceImages", referenceImages, "not a folder");
    }

    /** The inputs an output folder may not cover. */
    List<OutputPaths.Input> inputs() {
        return List.of(OutputPaths.input("clip", clip), OutputPaths.input("inception", inception), OutputPaths.input("referenceImages", referenceImages));
    }

    /** Loads what the per-image metrics need (the CLIP model, the probe's texts); nothing is written. */
    ImageScorer scorer(Backend ops, PrintStream log) {
        ClipModel model = metrics.stream().anyMatch(Metric::usesClip) ? ClipModel.load(clip) : null;
        if (model != null && model.tokenizer == null && metrics.stream().anyMatch(Metric::embedsText))
            throw new SettingError("clip", clip, "this CLIP folder has no tokenizer (vocab.json, merges.txt)");
        float[][] probeTexts = metrics.contains(Metric.PROBE)
            ? model.textEmbeds(new Ctx(ops), List.of("A picture of " + probeConcept + ".", "A picture of something.")) : null;
        return new ImageScorer(metrics, model, probeTexts, question(), judgeAnswer, null, ops, log);
    }

    /** What the summary needs: the Inception network (for FID and KID) and the reference folder, checked. */
    EvalSummary.Inputs summaryInputs(Backend ops) {
        EvalSummary.Inputs in = EvalSummary.Inputs.of(metrics.stream().anyMatch(Metric::usesInception) ? inception : null,
            referenceImages, featureCache, ops, inlineImages);
        if (in.inception() != null && FeatureCache.images(referenceImages).size() < 2)
            throw new SettingError("referenceImages", referenceImages, "FID and KID need at least 2 images");
        return in;
    }

    /** Records in {@code o} (run.json) every scoring setting that changes a score. */
    void putInto(ObjectNode o) {
        ArrayNode m = o.putArray("metrics");
        for (Metric metric : Metric.values()) if (metrics.contains(metric)) m.add(metric.key());
        if (metrics.stream().anyMatch(Metric::usesClip)) o.put("clip", folderName(clip));
        if (metrics.contains(Metric.PROBE)) o.put("probe_concept", probeConcept);
        if (metrics.stream().anyMatch(Metric::usesInception)) {
            o.put("inception", inception.getFileName().toString());
            o.put("reference_images", folderName(referenceImages));
        }
        if (metrics.contains(Metric.JUDGE)) {
            // how many questions are in flight changes no answer: a resume (or Spark's executors) may ask more or fewer
            ObjectNode j = judge.toJson();
            j.remove("max_concurrency");
            o.set("judge", j);
            o.put("judge_question", question());
            if (judgeAnswer == Question.Kind.SCORE) o.put("judge_answer", "score");   // absent: yes/no, as runs before the score question
        }
    }

    static String folderName(Path p) {
        Path n = p.toAbsolutePath().normalize().getFileName();
        return n == null ? "" : n.toString();
    }
}
