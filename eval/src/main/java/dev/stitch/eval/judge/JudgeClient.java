package dev.stitch.eval.judge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Asks a vision-language model about images through the OpenAI chat-completions API
 * ({@code POST {base}/chat/completions}): the image goes as a base64 PNG data URL in an {@code image_url} content
 * part, the answer format as a JSON schema in {@code response_format}, and the reply is parsed strictly — anything
 * but exactly the requested object is a {@link Judgement.Failure#MALFORMED_ANSWER}, never a guess.
 * <p>
 * Retryable problems (HTTP 408, 429, 5xx, timeouts, refused or broken connections) are retried up to
 * {@link JudgeConfig#maxAttempts()} times with exponential backoff and jitter, waiting at least as long as a
 * {@code Retry-After} header asks (up to {@link JudgeConfig#maxRetryAfter()}). At most
 * {@link JudgeConfig#maxConcurrency()} questions are in flight at once; each request has its own timeout covering
 * the whole response. Every request and response goes to the {@link AuditLog}; the API key goes only into the
 * {@code Authorization} header.
 */
public final class JudgeClient implements AutoCloseable {
    private final JudgeConfig config;
    private final String apiKey;
    private final AuditLog audit;
    private final HttpClient http;
    private final Semaphore slots;
    private final AtomicLong requestCounter = new AtomicLong();

    /** A client that reads the key from the process environment. */
    public JudgeClient(JudgeConfig config, Path auditFile) { this(config, auditFile, System::getenv); }

    /** A client that reads the key with {@code environment} (tests pass a map's lookup). */
    public JudgeClient(JudgeConfig config, Path auditFile, Function<String, String> environment) {
        this.config = config;
        if (config.apiKeyEnv().isEmpty()) apiKey = null;
        else {
            String k = environment.apply(config.apiKeyEnv());
            if (k == null || k.isBlank())
                throw new UserError("environment variable " + config.apiKeyEnv() + " is not set (the judge's API key;"
                    + " for a server without authentication set the key variable name to \"\")");
            apiKey = k.strip();
        }
        this.audit = new AuditLog(auditFile, apiKey);
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(config.requestTimeout())
            .build();
        this.slots = new Semaphore(config.maxConcurrency());
    }

    public JudgeConfig config() { return config; }

    /** Asks every question, at most {@code maxConcurrency} at a time; results in the questions' order. */
    public List<Judgement> askAll(List<Question> questions) {
        List<Judgement> out = new ArrayList<>(questions.size());
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Judgement>> fs = new ArrayList<>();
            for (Question q : questions) fs.add(ex.submit(() -> ask(q)));
            for (int i = 0; i < fs.size(); i++) {
                try {
                    out.add(fs.get(i).get());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    out.add(Judgement.failed(questions.get(i).id(), Judgement.Failure.INTERRUPTED, "interrupted", 0));
                } catch (ExecutionException e) {
                    throw new IllegalStateException("judge task failed", e.getCause());
                }
            }
        }
        return out;
    }

    /** Asks one question; blocks while {@code maxConcurrency} others are in flight. Never throws for the server's faults. */
    public Judgement ask(Question q) {
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return finish(q, Judgement.failed(q.id(), Judgement.Failure.INTERRUPTED, "interrupted while waiting for a slot", 0));
        }
        try {
            return finish(q, askHoldingSlot(q));
        } finally {
            slots.release();
        }
    }

    /** Records the outcome; a detail quoting the server (which may echo the key) is redacted first. */
    private Judgement finish(Question q, Judgement j) {
        Judgement r = j.ok() ? j : Judgement.failed(j.id(), j.failure(), audit.redact(j.detail()), j.attempts());
        audit.append("result", r.toJson());
        return r;
    }

    private Judgement askHoldingSlot(Question q) {
        byte[] png;
        try {
            png = Files.readAllBytes(q.image());
        } catch (IOException e) {
            return Judgement.failed(q.id(), Judgement.Failure.BAD_IMAGE, "cannot read " + q.image() + ": " + e.getMessage(), 0);
        }
        if (!isPng(png)) return Judgement.failed(q.id(), Judgement.Failure.BAD_IMAGE, q.image() + " is not a PNG file", 0);
        ObjectNode body = requestBody(q, "data:image/png;base64," + Base64.getEncoder().encodeToString(png));
        ObjectNode audited = requestBody(q, "(image " + q.image().getFileName() + ", sha256 " + sha256(png) + ")");
        byte[] bytes;
        try {
            bytes = Jsonl.JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        String lastProblem = "";
        for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
            String requestId = q.id() + "#" + requestCounter.incrementAndGet();
            ObjectNode ev = Jsonl.JSON.createObjectNode();
            ev.put("id", q.id());
            ev.put("request", requestId);
            ev.put("attempt", attempt);
            ev.put("url", config.endpoint().toString());
            ObjectNode img = ev.putObject("image");
            img.put("file", q.image().getFileName().toString());
            img.put("sha256", sha256(png));
            img.put("bytes", png.length);
            ev.set("body", audited);
            audit.append("request", ev);

            Duration wait;
            long t0 = System.nanoTime();
            try {
                HttpResponse<String> r = send(bytes);
                ObjectNode rv = Jsonl.JSON.createObjectNode();
                rv.put("id", q.id());
                rv.put("request", requestId);
                rv.put("status", r.statusCode());
                rv.put("elapsed_ms", (System.nanoTime() - t0) / 1_000_000);
                r.headers().firstValue("retry-after").ifPresent(v -> rv.put("retry_after", v));
                rv.put("raw", r.body());
                audit.append("response", rv);
                int s = r.statusCode();
                if (s == 200) return parse(q, r.body(), attempt);
                if (s != 408 && s != 429 && s < 500)
                    return Judgement.failed(q.id(), Judgement.Failure.HTTP_STATUS, "HTTP " + s + ": " + oneLine(r.body()), attempt);
                lastProblem = "HTTP " + s;
                wait = backoff(attempt, retryAfter(r.headers().firstValue("retry-after").orElse(null)));
            } catch (IOException | TimeoutException e) {
                lastProblem = describe(e);
                ObjectNode xv = Jsonl.JSON.createObjectNode();
                xv.put("id", q.id());
                xv.put("request", requestId);
                xv.put("elapsed_ms", (System.nanoTime() - t0) / 1_000_000);
                xv.put("error", lastProblem);
                audit.append("error", xv);
                wait = backoff(attempt, Duration.ZERO);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Judgement.failed(q.id(), Judgement.Failure.INTERRUPTED, "interrupted", attempt);
            }
            if (attempt == config.maxAttempts()) break;
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Judgement.failed(q.id(), Judgement.Failure.INTERRUPTED, "interrupted during backoff", attempt);
            }
        }
        return Judgement.failed(q.id(), Judgement.Failure.RETRIES_EXHAUSTED,
            config.maxAttempts() + " attempt(s), the last: " + lastProblem, config.maxAttempts());
    }

    /** Sends and waits at most the request timeout for the whole response, body included. */
    private HttpResponse<String> send(byte[] body) throws IOException, InterruptedException, TimeoutException {
        HttpRequest.Builder b = HttpRequest.newBuilder(config.endpoint())
            .timeout(config.requestTimeout())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
        CompletableFuture<HttpResponse<String>> f = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
        try {
            return f.get(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | InterruptedException e) {
            f.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        }
    }

    private ObjectNode requestBody(Question q, String imageUrl) {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("model", config.model());
        if (config.temperature() != null) o.put("temperature", config.temperature());
        if (config.maxTokens() != null) o.put("max_tokens", config.maxTokens());
        ObjectNode msg = o.putArray("messages").addObject();
        msg.put("role", "user");
        var content = msg.putArray("content");
        content.addObject().put("type", "text").put("text", q.prompt() + "\n" + q.kind().instruction);
        content.addObject().put("type", "image_url").putObject("image_url").put("url", imageUrl);
        ObjectNode rf = o.putObject("response_format");
        rf.put("type", "json_schema");
        ObjectNode js = rf.putObject("json_schema");
        js.put("name", q.kind() == Question.Kind.YES_NO ? "yes_no_answer" : "score_answer");
        js.put("strict", true);
        js.set("schema", q.kind().schema());
        return o;
    }

    /** The strict reading of a 200 response: exactly the requested object, nothing more, nothing less. */
    static Judgement parse(Question q, String raw, int attempts) {
        String id = q.id();
        JsonNode root;
        try {
            root = Jsonl.JSON.readTree(raw);
        } catch (JsonProcessingException e) {
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "response is not JSON", attempts);
        }
        JsonNode msg = root == null ? null : root.path("choices").path(0).path("message");
        if (msg == null || !msg.isObject())
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "response has no choices[0].message", attempts);
        if (msg.path("refusal").isTextual() && !msg.path("refusal").textValue().isEmpty())
            return Judgement.failed(id, Judgement.Failure.REFUSED, oneLine(msg.path("refusal").textValue()), attempts);
        JsonNode content = msg.get("content");
        if (content == null || !content.isTextual())
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "message content is not a string", attempts);
        JsonNode answer;
        try {
            answer = Jsonl.JSON.readTree(content.textValue());
        } catch (JsonProcessingException e) {
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "answer is not JSON: " + oneLine(content.textValue()), attempts);
        }
        String key = q.kind().key;
        if (answer == null || !answer.isObject() || answer.size() != 1 || !answer.has(key))
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER,
                "answer is not an object with exactly the key '" + key + "': " + oneLine(content.textValue()), attempts);
        JsonNode v = answer.get(key);
        if (q.kind() == Question.Kind.YES_NO) {
            if (v.isTextual() && (v.textValue().equals("yes") || v.textValue().equals("no")))
                return Judgement.answered(id, v.textValue().equals("yes"), null, attempts);
            return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "answer must be \"yes\" or \"no\", got " + v, attempts);
        }
        if (v.isIntegralNumber() && v.canConvertToInt() && v.intValue() >= 0 && v.intValue() <= 100)
            return Judgement.answered(id, null, v.intValue(), attempts);
        return Judgement.failed(id, Judgement.Failure.MALFORMED_ANSWER, "score must be an integer from 0 to 100, got " + v, attempts);
    }

    /** Exponential backoff with equal jitter, but never shorter than the server's Retry-After. */
    private Duration backoff(int attempt, Duration retryAfter) {
        long base = config.initialBackoff().toMillis() << Math.min(attempt - 1, 30);
        long cap = Math.max(0, Math.min(base, config.maxBackoff().toMillis()));
        long jittered = cap / 2 + (cap > 1 ? ThreadLocalRandom.current().nextLong(cap / 2 + 1) : 0);
        long ra = Math.min(retryAfter.toMillis(), config.maxRetryAfter().toMillis());
        return Duration.ofMillis(Math.max(jittered, ra));
    }

    /** A Retry-After header: delay-seconds or an HTTP date; zero when absent or unreadable. */
    static Duration retryAfter(String v) {
        if (v == null || v.isBlank()) return Duration.ZERO;
        String s = v.strip();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(s)));
        } catch (NumberFormatException ignored) {
            // an HTTP date
        }
        try {
            Duration d = Duration.between(ZonedDateTime.now(), ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME));
            return d.isNegative() ? Duration.ZERO : d;
        } catch (DateTimeParseException e) {
            return Duration.ZERO;
        }
    }

    private String describe(Exception e) {
        if (e instanceof TimeoutException || e instanceof HttpTimeoutException)
            return "timeout after " + config.requestTimeout().toMillis() + " ms";
        String m = e.getMessage();
        return "connection: " + e.getClass().getSimpleName() + (m == null ? "" : " (" + oneLine(m) + ")");
    }

    private static boolean isPng(byte[] b) {
        byte[] sig = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        if (b.length < sig.length) return false;
        for (int i = 0; i < sig.length; i++) if (b[i] != sig[i]) return false;
        return true;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("\\s+", " ").strip();
        return t.length() > 300 ? t.substring(0, 300) + "…" : t;
    }

    @Override
    public void close() {
        audit.close();
        http.close();
    }
}
