package dev.stitch.eval.study;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.stitch.engine.hub.HubCache;
import dev.stitch.engine.hub.HubId;
import dev.stitch.engine.taps.StepSet;
import dev.stitch.steering.PromptPairs;
import dev.stitch.eval.judge.JudgeConfig;
import dev.stitch.eval.judge.Question;
import dev.stitch.eval.metrics.ColourShare;
import dev.stitch.eval.run.EvalSettings;
import dev.stitch.eval.prompts.PromptItem;
import dev.stitch.eval.prompts.PromptSet;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerGroup;
import dev.stitch.steering.Method;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringPlan;
import dev.stitch.steering.TokenSelection;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads an experiment file (YAML, or JSON, which is YAML too) into an {@link Experiment}. Paths are relative to the
 * file's folder. Every problem is one {@link UserError} line naming the file, the key (as a path like
 * {@code setups[2].window}) and what was expected; unknown keys are refused, so a misspelt setting never silently
 * falls back to its default.
 */
final class ExperimentFile {
    private ExperimentFile() {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Where HF_HUB_CACHE and HF_HOME are read for a Hub id; tests point it at their own. */
    static Function<String, String> environment = System::getenv;

    /**
     * {@code model:}: a folder (relative to the experiment file), or, where no such path exists, a Hub id
     * {@code org/name[@revision]} in the local Hugging Face cache (as {@code --model} takes it; {@code stitch pull}
     * downloads it).
     */
    private static Path model(Node n, Path dir) {
        Path p = dir.resolve(n.text());
        if (Files.exists(p)) return p;
        if (!HubId.looksLike(n.text())) n.fail("no such file or folder " + p);
        try {
            return HubCache.fromEnvironment(environment).snapshot(HubId.parse(n.text())).dir();
        } catch (UserError e) {
            throw n.error(e.getMessage());
        }
    }

    static Experiment read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such experiment file");
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new UserError(file + ": not valid YAML (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        Path dir = file.toAbsolutePath().getParent();
        Node r = new Node(file, "", root == null ? YAML.createObjectNode() : root);
        r.keys("model", "vae", "generation", "pairs", "capture", "methods", "setups", "prompts", "metrics");

        Path model = model(r.at("model"), dir);
        Path vae = r.has("vae") ? r.path("vae", dir, true) : null;   // a diffusers vae folder in place of the model's own
        Experiment.Generation gen = generation(r.object("generation", true));
        List<Experiment.PairsSource> pairs = new ArrayList<>();
        for (Node p : r.stringOrList("pairs")) {
            Path f = dir.resolve(p.text());
            if (!Files.isRegularFile(f)) p.fail("no such pairs file " + f);
            pairs.add(new Experiment.PairsSource(f, PromptPairs.read(f)));
        }
        Experiment.Capture capture = capture(r.object("capture", false), gen.steps());
        List<Method> methods = new ArrayList<>();
        for (Node m : r.stringOrList("methods")) {
            Method x = m.parse(Method::parse, "a vector method (mean-diff, pca-diff, pca-center, probe, lda, act-linear, act-linear-incremental, act-mean)");
            if (methods.contains(x)) m.fail("method " + x.cliName + " is listed twice");
            methods.add(x);
        }
        List<Experiment.Setup> setups = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Node s : r.list("setups", true)) {
            Experiment.Setup setup = setup(s, methods, gen.steps());
            if (!names.add(setup.name())) s.at("name").fail("setup name '" + setup.name() + "' is used twice");
            setups.add(setup);
        }
        Node pr = r.object("prompts", true);
        pr.keys("target", "neutral");
        List<String> categories = new ArrayList<>();
        Experiment.Prompts prompts = new Experiment.Prompts(prompts(pr, "target", dir, true, categories), prompts(pr, "neutral", dir, false, null),
            categories.stream().allMatch(java.util.Objects::isNull) ? List.of() : java.util.Collections.unmodifiableList(categories));
        Experiment.Metrics metrics = metrics(r.object("metrics", true), dir);
        return new Experiment(model, vae, gen, pairs, capture, methods, setups, prompts, metrics);
    }

    private static Experiment.Generation generation(Node g) {
        g.keys("steps", "guidance", "width", "height", "scheduler", "seed", "seeds_per_prompt");
        int steps = g.integer("steps", 20, 1);
        double guidance = g.number("guidance", 7.5);
        if (!(guidance >= 0)) g.at("guidance").fail("expected a number >= 0");
        Integer width = g.has("width") ? g.integer("width", 0, 8) : null, height = g.has("height") ? g.integer("height", 0, 8) : null;
        if (width != null && width % 8 != 0) g.at("width").fail("expected a multiple of 8");
        if (height != null && height % 8 != 0) g.at("height").fail("expected a multiple of 8");
        String scheduler = g.has("scheduler") ? g.at("scheduler").text() : null;
        long seed = g.has("seed") ? g.at("seed").longValue() : 0;
        int seeds = g.integer("seeds_per_prompt", 1, 1);
        return new Experiment.Generation(steps, (float) guidance, width, height, scheduler, seed, seeds);
    }

    private static Experiment.Capture capture(Node c, int steps) {
        if (c == null) return new Experiment.Capture("unet.*", StepSet.ALL, SteeringPlan.Half.COND, "all", 4);
        c.keys("taps", "steps", "half", "tokens", "batch");
        String taps = c.has("taps") ? c.at("taps").text() : "unet.*";
        StepSet at = c.has("steps") ? c.at("steps").parse(s -> StepSet.parse(s).within(steps), "all or steps like 0-9,19 within the run") : StepSet.ALL;
        SteeringPlan.Half half = c.has("half") ? c.at("half").parse(SteeringPlan.Half::parse, "cond, uncond or both") : SteeringPlan.Half.COND;
        String tokens = c.has("tokens") ? c.at("tokens").text() : "all";
        if (!tokens.matches("all|last|eos|\\d+(\\s*,\\s*\\d+)*")) c.at("tokens").fail("expected all, last, eos or token positions like 0,5,6");
        return new Experiment.Capture(taps, at, half, tokens, c.integer("batch", 1, 1));
    }

    private static Experiment.Setup setup(Node s, List<Method> methods, int steps) {
        s.keys("name", "method", "taps", "operator", "strength", "strengths", "window", "half", "preserve_norm", "tokens");
        String name = s.at("name").text();
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) s.at("name").fail("expected letters, digits, '.', '_' or '-' (it names image files)");
        Method method = s.has("method") ? s.at("method").parse(Method::parse, "a vector method") : methods.get(0);
        if (!methods.contains(method)) s.at("method").fail(method.cliName + " is not among the study's methods " + methods.stream().map(m -> m.cliName).toList());
        Node t = s.at("taps");
        Experiment.Scope scope;
        List<String> taps = List.of();
        LayerGroup group = null;
        int k = 0;
        if (t.json().isArray()) {
            scope = Experiment.Scope.LIST;
            List<String> l = new ArrayList<>();
            for (Node x : t.items()) l.add(x.text());
            if (l.isEmpty()) t.fail("expected at least one tap");
            taps = List.copyOf(l);
        } else {
            String v = t.text();
            if (v.equals("all")) scope = Experiment.Scope.ALL;
            else if (v.equals("each")) scope = Experiment.Scope.EACH;
            else if (List.of("text", "early", "middle", "late").contains(v)) {
                scope = Experiment.Scope.GROUP;
                group = LayerGroup.parse(v);
            } else if (v.matches("top-\\d+")) {
                scope = Experiment.Scope.TOP_K;
                k = Integer.parseInt(v.substring(4));
                if (k < 1) t.fail("top-K needs K >= 1");
            } else if (v.contains(".")) {
                scope = Experiment.Scope.TAP;
                taps = List.of(v);
            } else {
                t.fail("expected a tap name, a list of taps, text, early, middle, late, all, each or top-K (e.g. top-3)");
                throw new AssertionError();
            }
        }
        Operator op = s.has("operator") ? s.at("operator").parse(Operator::parse, "add, ablate, gated, clamp or act") : method.isTransport() ? Operator.ACT : Operator.ADD;
        if ((op == Operator.ACT) != method.isTransport())
            s.at("operator").fail(method.isTransport() ? "method " + method.cliName + " makes transports: use operator act"
                : "operator act needs a transport method (act-linear, act-linear-incremental or act-mean)");
        if (s.has("strength") == s.has("strengths")) s.fail("expected exactly one of strength: S or strengths: [S, ...]");
        List<Float> strengths = new ArrayList<>();
        for (Node x : s.has("strength") ? List.of(s.at("strength")) : s.at("strengths").items()) {
            double v = x.number();
            if (!Double.isFinite(v) || v == 0) x.fail("expected a finite, non-zero strength (the baseline is strength 0)");
            if (strengths.contains((float) v)) x.fail("strength " + v + " is listed twice");
            strengths.add((float) v);
        }
        if (strengths.isEmpty()) s.at("strengths").fail("expected at least one strength");
        StepSet window = s.has("window") ? s.at("window").parse(w -> StepSet.parse(w).within(steps), "all or steps like 0-4 within the run") : StepSet.ALL;
        SteeringPlan.Half half = s.has("half") ? s.at("half").parse(SteeringPlan.Half::parse, "both, cond or uncond") : SteeringPlan.Half.BOTH;
        boolean norm = s.has("preserve_norm") && s.at("preserve_norm").bool();
        TokenSelection tokens = s.has("tokens") ? s.at("tokens").parse(TokenSelection::parse, "all, last, eos or token positions like 0,5,6")
            : TokenSelection.ALL;
        return new Experiment.Setup(name, method, scope, taps, group, k, op, List.copyOf(strengths), window, half, norm, tokens);
    }

    /** The prompts; {@code categories} (when not null) gets each one's category (null for none). */
    private static List<String> prompts(Node pr, String key, Path dir, boolean required, List<String> categories) {
        if (!pr.has(key)) {
            if (required) pr.at(key);
            return List.of();
        }
        Node n = pr.at(key);
        List<String> out = new ArrayList<>();
        if (n.json().isArray()) for (Node x : n.items()) {
            out.add(x.text());
            if (categories != null) categories.add(null);
        }
        else {
            Path f = dir.resolve(n.text());
            if (!Files.isRegularFile(f)) n.fail("expected a list of prompts or a prompt file (.txt, .csv, .jsonl); no such file " + f);
            for (PromptItem i : PromptSet.load(f)) {
                out.add(i.prompt());
                if (categories != null) categories.add(i.category());
            }
        }
        if (out.isEmpty() && required) n.fail("expected at least one prompt");
        for (String p : out) if (p.isBlank()) n.fail("a prompt is empty");
        return List.copyOf(out);
    }

    private static Experiment.Metrics metrics(Node m, Path dir) {
        m.keys("concept", "colour", "clip", "probe", "anchors", "judge", "inception", "reference_images", "feature_cache");
        ColourShare colour = null;
        if (m.has("colour")) {
            Node c = m.at("colour");
            if (c.json().isObject()) {
                c.keys("target", "hue", "tolerance", "min_saturation", "min_value");
                ColourShare base = c.has("target") ? c.at("target").parse(ColourShare::named, "a colour name") : null;
                if (base == null && !c.has("hue")) c.fail("expected target: NAME or hue: DEGREES");
                colour = new ColourShare(base != null ? base.target() : "hue " + c.number("hue", 0),
                    c.has("hue") ? c.number("hue", 0) : base.hue(), c.number("tolerance", 30), c.number("min_saturation", 0.35), c.number("min_value", 0.2));
            } else colour = c.parse(ColourShare::named, "a colour name or {target, hue, tolerance, min_saturation, min_value}");
        }
        Path clip = m.has("clip") ? m.path("clip", dir, true) : null;
        String probe = m.has("probe") ? m.at("probe").text() : null;
        if (probe != null && clip == null) m.at("probe").fail("the probe needs clip: DIR (a transformers CLIP folder)");
        List<Path> anchors = m.has("anchors") ? anchors(m.at("anchors"), dir) : List.of();
        if (!anchors.isEmpty() && clip == null) m.at("anchors").fail("the anchor similarity needs clip: DIR (a transformers CLIP folder)");
        Experiment.Judge judge = m.has("judge") ? judge(m.object("judge", true), probe) : null;
        Experiment.Fid fid = null;
        if (m.has("inception") || m.has("reference_images")) {
            Path inception = m.path("inception", dir, true), reference = m.path("reference_images", dir, true);
            if (!Files.isRegularFile(inception)) m.at("inception").fail("expected the FID Inception weights (a file)");
            if (!Files.isDirectory(reference)) m.at("reference_images").fail("expected a folder of reference images");
            fid = new Experiment.Fid(inception, reference, m.has("feature_cache") ? m.path("feature_cache", dir, false) : EvalSettings.defaultFeatureCache());
        } else if (m.has("feature_cache")) m.at("feature_cache").fail("needs inception and reference_images (FID and KID)");
        Experiment.MetricKind concept;
        if (m.has("concept")) {
            concept = m.at("concept").parse(s -> {
                for (Experiment.MetricKind k : Experiment.MetricKind.values()) if (k.key.equals(s)) return k;
                throw new IllegalArgumentException();
            }, "colour, clip, probe, anchor or judge");
        } else concept = colour != null ? Experiment.MetricKind.COLOUR : probe != null ? Experiment.MetricKind.PROBE
            : !anchors.isEmpty() ? Experiment.MetricKind.ANCHOR : judge != null ? Experiment.MetricKind.JUDGE : Experiment.MetricKind.CLIP;
        Experiment.Metrics out = new Experiment.Metrics(colour, clip, probe, judge, fid, concept, anchors);
        if (!out.has(concept)) (m.has("concept") ? m.at("concept") : m).fail("the concept metric " + concept.key + " is not configured here");
        return out;
    }

    /** The concept's anchor images: a list of image files, or a folder whose .png/.jpg/.jpeg files are taken in name order. */
    private static List<Path> anchors(Node n, Path dir) {
        List<Path> out = new ArrayList<>();
        if (n.json().isArray()) {
            for (Node x : n.items()) {
                Path p = dir.resolve(x.text());
                if (!Files.isRegularFile(p)) x.fail("no such image " + p);
                out.add(p);
            }
        } else {
            Path d = dir.resolve(n.text());
            if (!Files.isDirectory(d)) n.fail("expected a list of anchor images or a folder of them; no such folder " + d);
            try (var files = Files.list(d)) {
                files.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().toLowerCase(java.util.Locale.ROOT).matches(".*\\.(png|jpe?g)"))
                    .sorted().forEach(out::add);
            } catch (IOException e) {
                n.fail("cannot list " + d + " (" + e.getMessage() + ")");
            }
        }
        if (out.isEmpty()) n.fail("expected at least one anchor image");
        return out;
    }

    /** The judge: {url, model, key_env?, question?, answer?}; the question defaults to one about the probe's concept. */
    private static Experiment.Judge judge(Node j, String probe) {
        j.keys("url", "model", "key_env", "question", "answer");
        String url = j.at("url").text();
        JudgeConfig c;
        try {
            c = JudgeConfig.of(URI.create(url), j.at("model").text());
        } catch (IllegalArgumentException | UserError e) {
            throw j.at("url").error("expected an http(s) URL with a host, e.g. http://localhost:8000/v1");
        }
        if (j.has("key_env")) c = c.withApiKeyEnv(j.json().get("key_env").asText());
        Question.Kind answer = Question.Kind.YES_NO;
        if (j.has("answer")) answer = j.at("answer").parse(a -> switch (a) {
            case "yes-no" -> Question.Kind.YES_NO;
            case "score" -> Question.Kind.SCORE;
            default -> throw new IllegalArgumentException(a);
        }, "yes-no or score");
        String question = j.has("question") ? j.at("question").text() : null;
        if (question == null && probe == null) j.at("question");   // missing: there is no concept to ask about
        if (question == null) question = answer == Question.Kind.SCORE ? "How much does this image show " + probe + ", on a scale from 0 to 100?"
            : "Does this image show " + probe + "?";
        return new Experiment.Judge(c, question, answer);
    }

    /** A value in the file with its key path, for one-line errors. */
    private record Node(Path file, String where, JsonNode json) {
        UserError error(String what) { return new UserError(file + ": " + (where.isEmpty() ? "top level" : where) + ": " + what); }

        void fail(String what) { throw error(what); }

        boolean has(String key) { return json.has(key) && !json.get(key).isNull(); }

        Node at(String key) {
            if (!json.isObject()) fail("expected a mapping");
            JsonNode v = json.get(key);
            String p = where.isEmpty() ? key : where + "." + key;
            if (v == null || v.isNull()) throw new UserError(file + ": " + p + ": missing");
            return new Node(file, p, v);
        }

        void keys(String... allowed) {
            if (!json.isObject()) fail("expected a mapping");
            List<String> ok = List.of(allowed);
            for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!ok.contains(k)) throw new UserError(file + ": " + (where.isEmpty() ? k : where + "." + k) + ": unknown key (expected one of "
                    + String.join(", ", ok) + ")");
            }
        }

        Node object(String key, boolean required) {
            if (!required && !has(key)) return null;
            Node n = at(key);
            if (!n.json.isObject()) n.fail("expected a mapping");
            return n;
        }

        List<Node> items() {
            if (!json.isArray()) fail("expected a list");
            List<Node> out = new ArrayList<>();
            for (int i = 0; i < json.size(); i++) out.add(new Node(file, where + "[" + i + "]", json.get(i)));
            return out;
        }

        List<Node> list(String key, boolean nonEmpty) {
            List<Node> l = at(key).items();
            if (nonEmpty && l.isEmpty()) at(key).fail("expected at least one entry");
            return l;
        }

        /** A string or a non-empty list of strings. */
        List<Node> stringOrList(String key) {
            Node n = at(key);
            List<Node> l = n.json.isArray() ? n.items() : List.of(n);
            if (l.isEmpty()) n.fail("expected at least one entry");
            return l;
        }

        String text() {
            if (!json.isTextual() && !json.isNumber()) fail("expected a string, got " + json);
            String s = json.asText().strip();
            if (s.isEmpty()) fail("expected a non-empty string");
            return s;
        }

        double number() {
            if (!json.isNumber()) fail("expected a number, got " + json);
            return json.doubleValue();
        }

        double number(String key, double dflt) { return has(key) ? at(key).number() : dflt; }

        long longValue() {
            if (!json.isIntegralNumber() || !json.canConvertToLong()) fail("expected an integer, got " + json);
            return json.longValue();
        }

        int integer(String key, int dflt, int min) {
            if (!has(key)) return dflt;
            Node n = at(key);
            if (!n.json.isIntegralNumber() || !n.json.canConvertToInt()) n.fail("expected an integer, got " + n.json);
            if (n.json.intValue() < min) n.fail("expected an integer >= " + min + ", got " + n.json);
            return n.json.intValue();
        }

        boolean bool() {
            if (!json.isBoolean()) fail("expected true or false, got " + json);
            return json.booleanValue();
        }

        Path path(String key, Path dir, boolean mustExist) {
            Node n = at(key);
            Path p = dir.resolve(n.text());
            if (mustExist && !Files.exists(p)) n.fail("no such file or folder " + p);
            return p;
        }

        /** Parses the text with a parser that throws on bad input; the error names this key and what was expected. */
        <T> T parse(Function<String, T> parser, String expected) {
            String s = text();
            try {
                return parser.apply(s);
            } catch (UserError | IllegalArgumentException e) {
                throw error("expected " + expected + ", got '" + s + "'");
            }
        }
    }
}
