package dev.stitch.eval.prompts;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.stitch.kernels.UserError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON Lines: one JSON value per line, UTF-8; blank lines are skipped. A line that is not valid JSON (or that holds
 * more than one value) is a {@link UserError} naming the file and the line.
 */
public final class Jsonl {
    private Jsonl() {}

    /** The mapper used for every JSON file of an evaluation: duplicate keys are errors, not silently merged. */
    public static final ObjectMapper JSON = JsonMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();

    /** One line's value and its (1-based) line number. */
    public record Line(int line, JsonNode value) {}

    public static List<Line> read(Path file) { return parse(file.toString(), Csv.readText(file)); }

    public static List<Line> parse(String source, String text) {
        List<Line> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String s = lines[i];
            if (s.isBlank()) continue;
            try {
                out.add(new Line(i + 1, JSON.readTree(s)));
            } catch (JsonProcessingException e) {
                throw new UserError(source + ":" + (i + 1) + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
        }
        return out;
    }
}
