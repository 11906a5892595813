package dev.stitch.engine.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads the JSON files of a model folder; every problem is one {@link UserError} line naming the file. */
public final class JsonFiles {
    private JsonFiles() {}

    // Python's json module writes NaN and ±Infinity (e.g. DPM-Solver's lambda_min_clipped): configs may hold them
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
        .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    /** {@code file} as a JSON object; a missing file, bad JSON or another top-level value is a {@link UserError}. */
    public static JsonNode readObject(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(InputFiles.regular(file)));
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (IOException e) {
            throw new UserError(file + ": " + reason(e));
        }
        if (root == null || root.isMissingNode()) throw new UserError(file + ": empty file, expected a JSON object");
        if (!root.isObject()) throw new UserError(file + ": expected a JSON object");
        return root;
    }

    /**
     * Why reading JSON failed, in one line: "not valid JSON (line 3, column 7: Unexpected end-of-input ...)" for a
     * syntax error (Jackson's own message spans lines and names its internal source), the I/O message otherwise.
     */
    public static String reason(IOException e) {
        if (e instanceof JsonProcessingException j) {
            String what = String.valueOf(j.getOriginalMessage()).replaceAll("\\s+", " ").replaceAll(" \\(start marker at .*", "");
            JsonLocation at = j.getLocation();
            return "not valid JSON (" + (at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ") + what + ")";
        }
        if (e instanceof java.nio.charset.CharacterCodingException) return "not valid UTF-8";
        return "cannot read (" + e.getMessage() + ")";
    }
}
