package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;

/**
 * The outcome of one {@link Question}: an answer, or a failure that says why. A failure is never turned into an
 * answer: callers count failures separately and report them.
 *
 * @param yes      the yes/no answer (null unless answered and the question was yes/no)
 * @param score    the 0–100 answer (null unless answered and the question asked for a score)
 * @param failure  null when answered
 * @param detail   for a failure, one line saying what went wrong
 * @param attempts HTTP requests made
 */
public record Judgement(String id, Boolean yes, Integer score, Failure failure, String detail, int attempts) {
    public enum Failure {
        /** The server answered, but not with exactly the requested JSON (not JSON, another schema, out of range). */
        MALFORMED_ANSWER,
        /** The model declined (the API's {@code refusal} field). */
        REFUSED,
        /** An HTTP status that retrying cannot fix (400, 401, 403, 404, …). */
        HTTP_STATUS,
        /** Every attempt hit a retryable problem (429, 5xx, timeout, broken connection); detail has the last one. */
        RETRIES_EXHAUSTED,
        /** The question's deadline passed (every attempt, wait and Retry-After counted) before an answer came. */
        DEADLINE,
        /** The image could not be read or is not a PNG. */
        BAD_IMAGE,
        /** The waiting thread was interrupted. */
        INTERRUPTED
    }

    public boolean ok() { return failure == null; }

    static Judgement answered(String id, Boolean yes, Integer score, int attempts) {
        return new Judgement(id, yes, score, null, null, attempts);
    }

    static Judgement failed(String id, Failure f, String detail, int attempts) {
        return new Judgement(id, null, null, f, detail, attempts);
    }

    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("id", id);
        o.put("ok", ok());
        if (yes != null) o.put("answer", yes ? "yes" : "no");
        if (score != null) o.put("score", score);
        if (failure != null) {
            o.put("failure", failure.name());
            o.put("detail", detail);
        }
        o.put("attempts", attempts);
        return o;
    }
}
