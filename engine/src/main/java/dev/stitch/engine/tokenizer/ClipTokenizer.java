package dev.stitch.engine.tokenizer;

import dev.stitch.engine.io.InputFiles;
import dev.stitch.engine.io.JsonFiles;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.kernels.UserError;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, read from a diffusers {@code tokenizer/} folder ({@code vocab.json},
 * {@code merges.txt}, {@code special_tokens_map.json}, {@code tokenizer_config.json}).
 *
 * <p>Two ways to tokenize, which differ only where the prompt contains a special token's text, and SD2's pad token
 * is "!" (see {@link Mode}). Both clean the text the same way: ftfy, whitespace collapsed, lower case, then the CLIP
 * pre-tokenizer regex, byte-level BPE, ids from the vocabulary; the result is [BOS] + at most
 * {@code maxLength - 2} tokens + [EOS], padded with the pad token's id.
 */
public final class ClipTokenizer {
    /** How text becomes ids. */
    public enum Mode {
        /**
         * open_clip's {@code SimpleTokenizer}, which SD2 was trained with: a typed "!" is text ({@code !!!} is the
         * one token {@code !!!</w>}), and ftfy is followed by two rounds of {@code html.unescape}.
         */
        ORIGINAL,
        /**
         * transformers' slow {@code CLIPTokenizer} as diffusers' pipeline calls it: the raw text is first cut at
         * every exact occurrence of a special token (BOS, EOS, UNK and PAD — for SD2 that is every "!", each
         * becoming the pad id), then each piece is cleaned and encoded on its own.
         */
        DIFFUSERS
    }

    /**
     * CLIP's pre-tokenizer after its special-token alternatives: contractions, letter runs, single digits, symbol
     * runs. U+0345 is left out of the symbol class because Python's regex module, case-insensitive, matches it with
     * nothing (it case-folds to a letter), so the reference tokenizers drop it.
     */
    private static final String WORDS = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}\\u0345]+";
    /** Python's {@code regex} \s is Unicode White_Space; Java's is ASCII unless asked. */
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> vocab;
    private final String[] tokenOf;
    private final Bpe bpe;
    private final int bosId, eosId, padId, unkId, maxLength;
    /** Texts DIFFUSERS mode cuts out of the raw prompt before anything else, longest first. */
    private final List<String> splitTokens;
    /** Per mode: texts the pre-tokenizer keeps whole and maps straight to an id, and the pre-tokenizer itself. */
    private final Map<String, Integer> originalSpecials, diffusersSpecials;
    private final Pattern originalPattern, diffusersPattern;

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> ranks, String bos, String eos, String unk,
                          String pad, int maxLength) {
        this.vocab = vocab;
        this.tokenOf = new String[vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1];
        vocab.forEach((t, id) -> tokenOf[id] = t);
        this.bpe = new Bpe(ranks);
        this.bosId = vocab.get(bos);
        this.eosId = vocab.get(eos);
        this.unkId = vocab.get(unk);
        this.padId = vocab.get(pad);
        this.maxLength = maxLength;
        this.splitTokens = List.of(bos, eos, unk, pad).stream().distinct().filter(s -> !s.isEmpty())
            .sorted(Comparator.comparingInt(String::length).reversed()).toList();
        // open_clip names its own BOS/EOS "<start_of_text>"/"<end_of_text>" (same ids); transformers uses the
        // vocabulary's names. A prompt that spells one of them out gets that id.
        this.originalSpecials = Map.of("<start_of_text>", bosId, "<end_of_text>", eosId);
        this.diffusersSpecials = new HashMap<>(Map.of(bos, bosId));
        diffusersSpecials.putIfAbsent(eos, eosId);
        this.originalPattern = pretokenizer(List.of("<start_of_text>", "<end_of_text>"));
        this.diffusersPattern = pretokenizer(List.of(bos, eos));
    }

    private static Pattern pretokenizer(List<String> specials) {
        StringBuilder alt = new StringBuilder();
        for (String s : specials) alt.append(Pattern.quote(s)).append('|');
        return Pattern.compile(alt + WORDS,
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    }

    // ---- loading --------------------------------------------------------------------------------------------

    /** Reads a diffusers {@code tokenizer/} folder; missing or malformed files are a {@link UserError} naming the file. */
    public static ClipTokenizer load(Path dir) {
        Path vocabFile = dir.resolve("vocab.json"), mergesFile = dir.resolve("merges.txt");
        Path specialFile = dir.resolve("special_tokens_map.json"), configFile = dir.resolve("tokenizer_config.json");
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": no such tokenizer folder");

        Map<String, Integer> vocab = readVocab(vocabFile);
        Map<String, Integer> ranks = readMerges(mergesFile, vocab);

        JsonNode special = readJson(specialFile, false), config = readJson(configFile, false);
        // transformers' CLIPTokenizer defaults, for folders that do not say.
        String bos = specialToken(special, config, "bos_token", "<|startoftext|>", specialFile, configFile);
        String eos = specialToken(special, config, "eos_token", "<|endoftext|>", specialFile, configFile);
        String unk = specialToken(special, config, "unk_token", "<|endoftext|>", specialFile, configFile);
        String pad = specialToken(special, config, "pad_token", "<|endoftext|>", specialFile, configFile);
        for (String t : List.of(bos, eos, unk, pad))
            if (!vocab.containsKey(t)) throw new UserError(vocabFile + ": special token '" + t + "' is not in the vocabulary");

        int maxLength = 77;  // CLIP's context length, for configs that leave it out
        JsonNode ml = config == null ? null : config.get("model_max_length");
        if (ml != null && !ml.isNull()) {
            if (!ml.isNumber() || ml.asDouble() < 2 || ml.asDouble() > 1_000_000 || ml.asDouble() != Math.rint(ml.asDouble()))
                throw new UserError(configFile + ": model_max_length is " + ml + ", expected an integer >= 2");
            maxLength = ml.asInt();
        }
        return new ClipTokenizer(vocab, ranks, bos, eos, unk, pad, maxLength);
    }

    /** vocab.json: one object of token -> id, read as a stream (49 408 entries for CLIP). */
    private static Map<String, Integer> readVocab(Path file) {
        InputFiles.regular(file);
        Map<String, Integer> vocab = new HashMap<>(1 << 17);
        try (JsonParser p = JSON.getFactory().createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new UserError(file + ": expected a JSON object of token -> id");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String token = p.currentName();
                JsonToken v = p.nextToken();
                // ids index a table: a huge one would allocate gigabytes
                if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 0
                    || p.getIntValue() > MAX_ID)
                    throw new UserError(file + ": token '" + quote(token) + "' has id "
                        + (v == JsonToken.VALUE_STRING ? "\"" + quote(p.getText()) + "\" (a string)" : quote(p.getText()))
                        + ", expected an integer from 0 to " + MAX_ID);
                vocab.put(token, p.getIntValue());
            }
            if (p.currentToken() != JsonToken.END_OBJECT) throw new UserError(file + ": expected a JSON object of token -> id");
        } catch (IOException e) {
            throw new UserError(file + ": " + JsonFiles.reason(e));
        }
        if (vocab.isEmpty()) throw new UserError(file + ": the vocabulary is empty");
        return vocab;
    }

    private static Map<String, Integer> readMerges(Path file, Map<String, Integer> vocab) {
        List<String> lines;
        try {
            lines = Files.readAllLines(InputFiles.regular(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserError(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new UserError(file + ": not valid UTF-8");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        Map<String, Integer> ranks = new HashMap<>(1 << 17);
        int first = !lines.isEmpty() && lines.getFirst().startsWith("#") ? 1 : 0;   // "#version: 0.2"
        for (int i = first; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            int space = line.indexOf(' ');
            String[] pair = space < 0 ? new String[] {line} : new String[] {line.substring(0, space), line.substring(space + 1)};
            if (pair.length != 2 || pair[1].isEmpty() || pair[1].indexOf(' ') >= 0)
                throw new UserError(file + ": line " + (i + 1) + " is '" + quote(line) + "', expected two symbols separated by a space");
            if (!vocab.containsKey(pair[0] + pair[1]))
                throw new UserError(file + ": line " + (i + 1) + " merges into '" + quote(pair[0] + pair[1])
                    + "', which vocab.json does not have (vocabulary and merges do not belong together)");
            ranks.putIfAbsent(Bpe.pairKey(pair[0], pair[1]), ranks.size());
        }
        if (ranks.isEmpty()) throw new UserError(file + ": no merges");
        return ranks;
    }

    /** The largest token id accepted (CLIP has 49 407; the id table is this long). */
    static final int MAX_ID = (1 << 24) - 1;

    /** Text from a file, cut to 80 characters for a one-line message (a damaged file may hold megabytes on a line). */
    static String quote(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "... (" + s.length() + " characters)";
    }

    private static JsonNode readJson(Path file, boolean required) {
        if (!Files.exists(file)) {
            if (required) throw new UserError(file + ": no such file");
            return null;
        }
        try {
            JsonNode n = JSON.readTree(InputFiles.regular(file).toFile());
            if (n == null || n.isMissingNode()) throw new UserError(file + ": empty file, expected JSON");
            return n;
        } catch (IOException e) {
            throw new UserError(file + ": " + JsonFiles.reason(e));
        }
    }

    /** A special token's text: a plain string or an AddedToken object with "content". */
    private static String specialToken(JsonNode special, JsonNode config, String key, String fallback, Path specialFile, Path configFile) {
        for (var source : List.of(Map.entry(specialFile, special == null ? JSON.missingNode() : special),
                                  Map.entry(configFile, config == null ? JSON.missingNode() : config))) {
            JsonNode v = source.getValue().path(key);
            if (v.isMissingNode() || v.isNull()) continue;
            if (v.isTextual()) return v.asText();
            if (v.isObject() && v.path("content").isTextual()) return v.path("content").asText();
            throw new UserError(source.getKey() + ": " + key + " is " + v + ", expected a string or an object with \"content\"");
        }
        return fallback;
    }

    // ---- encoding -------------------------------------------------------------------------------------------

    /** {@code text} as SD2 was trained ({@link Mode#ORIGINAL}): {@link #maxLength()} ids. */
    public int[] encode(String text) { return encode(text, Mode.ORIGINAL); }

    /** [BOS] + the first {@code maxLength - 2} tokens of {@code text} + [EOS], padded to {@link #maxLength()}. */
    public int[] encode(String text, Mode mode) {
        List<Integer> body = ids(text, mode);
        int n = Math.min(body.size(), maxLength - 2);
        int[] out = new int[maxLength];
        Arrays.fill(out, padId);
        out[0] = bosId;
        for (int i = 0; i < n; i++) out[i + 1] = body.get(i);
        out[n + 1] = eosId;
        return out;
    }

    /** The tokens of {@code text} as vocabulary strings, without BOS/EOS, padding or truncation (for debugging). */
    public List<String> tokens(String text, Mode mode) {
        return ids(text, mode).stream().map(id -> tokenOf[id]).toList();
    }

    /**
     * Text back from ids, as open_clip's {@code decode}: tokens joined, bytes read as UTF-8, each end of word a
     * space; special tokens as their text. For debugging: the clean-up (ftfy, lower case, spacing) is not undone.
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= tokenOf.length || tokenOf[id] == null) throw new IllegalArgumentException("no token has id " + id);
            String t = tokenOf[id];
            boolean endOfWord = t.endsWith(Bpe.END_OF_WORD);
            ByteEncoder.decode(endOfWord ? t.substring(0, t.length() - Bpe.END_OF_WORD.length()) : t, bytes);
            if (endOfWord) bytes.write(' ');
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** The ids of {@code text}, without BOS/EOS, padding or truncation. */
    public List<Integer> ids(String text, Mode mode) {
        List<Integer> out = new ArrayList<>();
        switch (mode) {
            case ORIGINAL -> {
                String clean = HtmlEntities.unescape(HtmlEntities.unescape(Ftfy.fixText(text)));
                encodeClean(clean, originalPattern, originalSpecials, out);
            }
            case DIFFUSERS -> {
                // Cut at exact special-token texts first (transformers' added-tokens trie), then clean each piece.
                int start = 0, i = 0;
                while (i < text.length()) {
                    String hit = null;
                    for (String s : splitTokens) if (text.startsWith(s, i)) { hit = s; break; }
                    if (hit == null) { i++; continue; }
                    if (i > start) encodeClean(Ftfy.fixText(text.substring(start, i)), diffusersPattern, diffusersSpecials, out);
                    out.add(vocab.get(hit));
                    i += hit.length();
                    start = i;
                }
                if (start < text.length()) encodeClean(Ftfy.fixText(text.substring(start)), diffusersPattern, diffusersSpecials, out);
            }
        }
        return out;
    }

    /** Whitespace collapse, lower case, pre-tokenize, BPE: the part both modes share once the text is fixed. */
    private void encodeClean(String fixed, Pattern pretokenizer, Map<String, Integer> specials, List<Integer> out) {
        String text = lowerCase(WHITESPACE.matcher(fixed).replaceAll(" ").strip());
        Matcher m = pretokenizer.matcher(text);
        while (m.find()) {
            String piece = m.group();
            Integer special = specials.get(piece);
            if (special != null) {
                out.add(special);
                continue;
            }
            for (String symbol : bpe.encode(ByteEncoder.encode(piece))) out.add(vocab.getOrDefault(symbol, unkId));
        }
    }

    /**
     * Python's {@code str.lower()}: full lower-case mapping, and Σ becomes final ς by Unicode's Final_Sigma context
     * (a cased letter before it, none after, skipping case-ignorable characters). Java's {@code toLowerCase}
     * decides by word boundaries instead, so "É1Σ" would differ.
     */
    static String lowerCase(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (cp == 0x3A3) out.append(finalSigma(s, i) ? 'ς' : 'σ');
            else if (cp == 0x130) out.append("i\u0307");  // the one unconditional multi-character mapping
            else out.appendCodePoint(Character.toLowerCase(cp));
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    private static boolean finalSigma(String s, int at) {
        int j = at, cp = -1;
        while (j > 0) {
            cp = s.codePointBefore(j);
            j -= Character.charCount(cp);
            if (!caseIgnorable(cp)) break;
            cp = -1;
        }
        if (cp < 0 || !cased(cp)) return false;
        for (j = at + 1; j < s.length(); ) {
            cp = s.codePointAt(j);
            if (!caseIgnorable(cp)) return !cased(cp);
            j += Character.charCount(cp);
        }
        return true;
    }

    private static boolean cased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable: marks, format controls, modifiers, and the in-word punctuation of word breaking. */
    private static boolean caseIgnorable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
                 Character.MODIFIER_SYMBOL -> true;
            default -> "'.:\u00b7\u0387\u055f\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a".indexOf(cp) >= 0;
        };
    }

    // ---- ids ------------------------------------------------------------------------------------------------

    public int bosId() { return bosId; }

    public int eosId() { return eosId; }

    public int padId() { return padId; }

    /** Ids per sequence, BOS and EOS included (77 for CLIP). */
    public int maxLength() { return maxLength; }

    public int vocabSize() { return tokenOf.length; }

    /** Index of the first EOS + 1: the tokens the prompt really has, BOS and EOS included. */
    public int length(int[] ids) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == eosId) return i + 1;
        return ids.length;
    }
}
