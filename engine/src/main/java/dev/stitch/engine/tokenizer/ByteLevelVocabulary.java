package dev.stitch.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The built-in model's vocabulary: CLIP's byte-level alphabet (GPT-2's bytes_to_unicode), each symbol alone and with
 * {@code </w>}, a few merges of frequent English letter pairs (inside a word and at its end), then BOS and EOS — 546
 * tokens. Written in the CLIP tokenizer file format, so the ordinary tokenizer loads it; as in CLIP's vocabulary,
 * "!" is id 0, which makes SD2's pad token id 0 here too.
 */
public final class ByteLevelVocabulary {
    private ByteLevelVocabulary() {}

    private static final String[] PAIRS = {"th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "ed", "is"};

    public static final int SIZE = 512 + 2 * PAIRS.length + 2;

    /** GPT-2's reversible byte → printable character table, in CLIP's vocabulary order. */
    public static List<String> byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) bs.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
        List<Integer> cs = new ArrayList<>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++)
            if (!bs.contains(b)) {
                bs.add(b);
                cs.add(256 + n++);
            }
        List<String> out = new ArrayList<>();
        for (int c : cs) out.add(new String(Character.toChars(c)));
        return out;
    }

    /** Writes vocab.json, merges.txt, special_tokens_map.json and tokenizer_config.json into {@code dir}. */
    public static void write(Path dir) {
        ObjectMapper json = new ObjectMapper();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> symbols = byteSymbols();
        for (String s : symbols) vocab.put(s, vocab.size());
        for (String s : symbols) vocab.put(s + "</w>", vocab.size());
        StringBuilder merges = new StringBuilder("#version: 0.2 - byte-level vocabulary with a few merges\n");
        for (String p : PAIRS) {
            merges.append(p.charAt(0)).append(' ').append(p.charAt(1)).append('\n');
            merges.append(p.charAt(0)).append(' ').append(p.charAt(1)).append("</w>\n");
            vocab.put(p, vocab.size());
            vocab.put(p + "</w>", vocab.size());
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("vocab.json"), json.writeValueAsString(vocab), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("merges.txt"), merges.toString(), StandardCharsets.UTF_8);
            ObjectNode special = json.createObjectNode();
            special.set("bos_token", token(json, "<|startoftext|>"));
            special.set("eos_token", token(json, "<|endoftext|>"));
            special.put("pad_token", "!");
            special.set("unk_token", token(json, "<|endoftext|>"));
            Files.writeString(dir.resolve("special_tokens_map.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(special));
            ObjectNode cfg = special.deepCopy();
            cfg.put("add_prefix_space", false);
            cfg.put("do_lower_case", true);
            cfg.put("errors", "replace");
            cfg.put("model_max_length", 77);
            cfg.put("tokenizer_class", "CLIPTokenizer");
            Files.writeString(dir.resolve("tokenizer_config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer files to " + dir, e);
        }
    }

    private static ObjectNode token(ObjectMapper json, String content) {
        ObjectNode t = json.createObjectNode();
        t.put("content", content);
        t.put("lstrip", false);
        t.put("normalized", true);
        t.put("rstrip", false);
        t.put("single_word", false);
        return t;
    }
}
