package dev.stitch.eval.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.eval.clip.ClipModel;
import dev.stitch.eval.judge.JudgeClient;
import dev.stitch.eval.judge.Judgement;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.AnchorSimilarity;
import dev.stitch.eval.metrics.ClipScore;
import dev.stitch.eval.metrics.ZeroShotProbe;
import dev.stitch.kernels.Backend;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The per-image metrics of one item (CLIP score, probe, judge), written into its score line's setup entries. One
 * scorer serves a run that scores as it generates ({@link Evaluation}) and one that scores a finished images-only run
 * ({@link Scoring}), so both write the same scores.jsonl.
 *
 * @param probeTexts the probe's two class embeddings (null without the probe)
 * @param question   the judge's question (null without the judge)
 * @param anchors    each concept's anchor centroid, for the anchor metric (null without it); an item's category names its concept
 */
record ImageScorer(Set<Metric> metrics, ClipModel clip, float[][] probeTexts, String question, Question.Kind judgeAnswer,
                   Map<String, float[]> anchors, Backend ops, PrintStream log) {

    ImageScorer withAnchors(Map<String, float[]> a) { return new ImageScorer(metrics, clip, probeTexts, question, judgeAnswer, a, ops, log); }

    /**
     * Scores image {@code k} of {@code images} (of a prompt in {@code category}, null for none) into {@code results.get(k)}; the image files (the judge reads them) are
     * {@code files}, whose names without ".png" name the judge's questions.
     */
    void score(String prompt, String category, ArrayNode results, List<RgbImage> images, List<Path> files, JudgeClient judge) {
        Ctx ctx = new Ctx(ops);
        float[] text = metrics.contains(Metric.CLIP) ? clip.textEmbeds(ctx, List.of(prompt))[0] : null;
        List<Question> questions = new ArrayList<>();
        for (int k = 0; k < images.size(); k++) {
            ObjectNode r = (ObjectNode) results.get(k);
            float[] emb = clip == null ? null : clip.imageEmbeds(ctx, List.of(images.get(k)))[0];
            if (text != null) r.put("clip", ClipScore.score(emb, text));
            if (probeTexts != null) r.put("probe", ZeroShotProbe.probabilities(emb, probeTexts, clip.logitScale())[0]);
            if (anchors != null) r.put("anchor", AnchorSimilarity.score(emb, anchors.get(category)));
            String name = files.get(k).getFileName().toString();
            if (judge != null) questions.add(new Question(name.substring(0, name.length() - ".png".length()), files.get(k), question, judgeAnswer));
        }
        if (judge == null) return;
        List<Judgement> js = judge.askAll(questions);
        for (int k = 0; k < js.size(); k++) {
            ObjectNode r = (ObjectNode) results.get(k);
            Judgement j = js.get(k);
            if (!j.ok()) {
                r.put("judge_failure", j.failure().name());
                log.println("eval: judge question " + j.id() + " failed: " + j.failure() + " (" + j.detail() + ")");
            } else if (judgeAnswer == Question.Kind.SCORE) r.put("judge_score", j.score());
            else r.put("judge", j.yes() ? "yes" : "no");
        }
    }
}
