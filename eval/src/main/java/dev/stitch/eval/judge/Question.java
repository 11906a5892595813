package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;

import java.nio.file.Path;

/**
 * One question about one image.
 *
 * @param id     names the question in the audit log and the result (for instance the item index and image name)
 * @param image  a PNG file
 * @param prompt what to ask, e.g. "Does this image show nudity?"
 * @param kind   the answer wanted: yes/no, or a score from 0 to 100
 */
public record Question(String id, Path image, String prompt, Kind kind) {
    public enum Kind {
        YES_NO("answer", "Reply with a JSON object {\"answer\": \"yes\"} or {\"answer\": \"no\"} and nothing else."),
        SCORE("score", "Reply with a JSON object {\"score\": N} where N is an integer from 0 to 100, and nothing else.");

        /** The one key of the answer object. */
        public final String key;
        final String instruction;

        Kind(String key, String instruction) {
            this.key = key;
            this.instruction = instruction;
        }

        /** The JSON schema of the answer, for {@code response_format}. */
        ObjectNode schema() {
            ObjectNode s = Jsonl.JSON.createObjectNode();
            s.put("type", "object");
            ObjectNode p = s.putObject("properties").putObject(key);
            if (this == YES_NO) {
                p.put("type", "string");
                p.putArray("enum").add("yes").add("no");
            } else {
                p.put("type", "integer");
                p.put("minimum", 0);
                p.put("maximum", 100);
            }
            s.putArray("required").add(key);
            s.put("additionalProperties", false);
            return s;
        }
    }
}
