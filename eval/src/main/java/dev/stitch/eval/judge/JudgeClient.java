package dev.stitch.eval.judge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
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
 * the whole response, and each question a deadline ({@link JudgeConfig#questionDeadline()}) that no retry or wait
 * passes. A response body over {@value #MAX_RESPONSE_BYTES} bytes is cut off and fails the attempt (an answer is a
 * few hundred bytes; an endless body must not fill the heap). Every request and response goes to the
 * {@link AuditLog}; the API key goes only into the {@code Authorization} header.
 */
public final class JudgeClient implements AutoCloseable {
    /** The most of a response body that is read. */
    public static final int MAX_RESPONSE_BYTES = 1 << 20;
    /** The longest a Retry-After is read as (longer values are this); the question deadline caps it further. */
    private static final Duration RETRY_AFTER_CEILING = Duration.ofDays(1);

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
        this(config, auditFile, apiKey(config, environment));
    }

    /** A client with this API key (null: none), as {@link #apiKey} read it. */
    public JudgeClient(JudgeConfig config, Path auditFile, String apiKey) {
        this.config = config;
        this.apiKey = apiKey;
        List<String> secrets = new ArrayList<>(config.urlSecrets());
        if (apiKey != null) secrets.add(apiKey);
        this.audit = new AuditLog(auditFile, secrets);
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(config.requestTimeout())
            .build();
        this.slots = new Semaphore(config.maxConcurrency());
    }

    /**
     * The API key from the variable {@link JudgeConfig#apiKeyEnv()} names (null when it names none); an unset variable is
     * a {@link UserError}, so a caller can check it before writing anything.
     */
    public static String apiKey(JudgeConfig config, Function<String, String> environment) {
        if (config.apiKeyEnv().isEmpty()) return null;
        String k = environment.apply(config.apiKeyEnv());
        if (k == null || k.isBlank())
            throw new UserError("environment variable " + config.apiKeyEnv() + " is not set (the judge's API key;"
                + " for a server without authentication set the key variable name to \"\")");
        return k.strip();
    }

    public JudgeConfig config() { return config; }

    /**
     * Asks every question, at most {@code maxConcurrency} at a time; results in the questions' order. A worker that dies
     * (out of memory, a bug) or outlives every deadline stops the caller with a one-line {@link UserError} instead of
     * leaving it waiting.
     */
    public List<Judgement> askAll(List<Question> questions) {
        List<Judgement> out = new ArrayList<>(questions.size());
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<Judgement>> fs = new ArrayList<>();
            for (Question q : questions) fs.add(ex.submit(() -> ask(q)));
            // each question waits for a slot, then has its deadline: the last may end after all of them in turn
            long waves = (questions.size() + config.maxConcurrency() - 1) / config.maxConcurrency();
            long end = System.nanoTime() + saturatedNanos(config.questionDeadline().multipliedBy(Math.max(1, waves)).plusSeconds(30));
            for (int i = 0; i < fs.size(); i++) {
                try {
                    out.add(fs.get(i).get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    out.add(Judgement.failed(questions.get(i).id(), Judgement.Failure.INTERRUPTED, "interrupted", 0));
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    throw new UserError("judge: the worker asking " + questions.get(i).id() + " died (" + c.getClass().getSimpleName()
                        + (c.getMessage() == null ? "" : ": " + oneLine(c.getMessage())) + "); the run stopped, rerun to resume");
                } catch (TimeoutException e) {
                    throw new UserError("judge: the worker asking " + questions.get(i).id() + " is still busy after every deadline"
                        + " passed; the run stopped, rerun to resume");
                }
            }
        } finally {
            ex.shutdownNow();   // after a failure: interrupt the others rather than wait for them
        }
        return out;
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
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
        long deadline = System.nanoTime() + saturatedNanos(config.questionDeadline());
        for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return pastDeadline(q, attempt - 1, lastProblem);
            String requestId = q.id() + "#" + requestCounter.incrementAndGet();
            ObjectNode ev = Jsonl.JSON.createObjectNode();
            ev.put("id", q.id());
            ev.put("request", requestId);
            ev.put("attempt", attempt);
            ev.put("url", JudgeConfig.redact(config.endpoint()));
            ObjectNode img = ev.putObject("image");
            img.put("file", q.image().getFileName().toString());
            img.put("sha256", sha256(png));
            img.put("bytes", png.length);
            ev.set("body", audited);
            audit.append("request", ev);

            Duration wait;
            long t0 = System.nanoTime();
            try {
                HttpResponse<String> r = send(bytes, Duration.ofNanos(Math.min(left, saturatedNanos(config.requestTimeout()))));
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
            if (wait.toNanos() >= deadline - System.nanoTime()) return pastDeadline(q, attempt, lastProblem + ", then a wait of "
                + wait.toMillis() + " ms");
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

    private Judgement pastDeadline(Question q, int attempts, String lastProblem) {
        return Judgement.failed(q.id(), Judgement.Failure.DEADLINE, "no answer within the question's deadline of "
            + config.questionDeadline().toMillis() + " ms after " + attempts + " attempt(s)"
            + (lastProblem.isEmpty() ? "" : ", the last: " + lastProblem), attempts);
    }

    /** Sends and waits at most {@code timeout} for the whole response, body included (at most {@value #MAX_RESPONSE_BYTES} bytes). */
    private HttpResponse<String> send(byte[] body, Duration timeout) throws IOException, InterruptedException, TimeoutException {
        HttpRequest.Builder b = HttpRequest.newBuilder(config.endpoint())
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
        else if (config.baseUrl().getUserInfo() != null)
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(config.baseUrl().getUserInfo().getBytes(StandardCharsets.UTF_8)));
        CompletableFuture<HttpResponse<String>> f = http.sendAsync(b.build(), info -> new CappedBody(MAX_RESPONSE_BYTES));
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | InterruptedException e) {
            f.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        }
    }

    /** A body read into a string, refused (and the stream cancelled) once it passes {@code limit} bytes. */
    private static final class CappedBody implements HttpResponse.BodySubscriber<String> {
        private final int limit;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<String> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        CappedBody(int limit) { this.limit = limit; }

        @Override
        public CompletionStage<String> getBody() { return result; }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            for (ByteBuffer b : items) {
                if (bytes.size() + b.remaining() > limit) {
                    subscription.cancel();
                    result.completeExceptionally(new IOException("response body over " + limit + " bytes"));
                    return;
                }
                byte[] a = new byte[b.remaining()];
                b.get(a);
                bytes.writeBytes(a);
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) { result.completeExceptionally(t); }

        @Override
        public void onComplete() { result.complete(bytes.toString(StandardCharsets.UTF_8)); }
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

    /** Exponential backoff with equal jitter, but never shorter than the server's Retry-After (up to maxRetryAfter). */
    private Duration backoff(int attempt, Duration retryAfter) {
        long max = Math.max(0, config.maxBackoff().toMillis()), base = Math.max(0, config.initialBackoff().toMillis());
        for (int i = 1; i < attempt && base < max; i++) base = base > max / 2 ? max : base * 2;   // doubling without overflow
        long cap = Math.min(base, max);
        long jittered = cap / 2 + (cap > 1 ? ThreadLocalRandom.current().nextLong(cap / 2 + 1) : 0);
        long ra = Math.min(retryAfter.toMillis(), config.maxRetryAfter().toMillis());
        return Duration.ofMillis(Math.max(jittered, ra));
    }

    /**
     * A Retry-After header: delay-seconds (digits; also read: a decimal or exponent form such as {@code 1e9}) or an HTTP
     * date; zero when absent, unreadable or in the past; at most a day, however large the number (the caller caps it
     * again by maxRetryAfter and the question's deadline).
     */
    static Duration retryAfter(String v) {
        if (v == null || v.isBlank()) return Duration.ZERO;
        String s = v.strip();
        try {
            BigDecimal seconds = new BigDecimal(s);
            if (seconds.signum() <= 0) return Duration.ZERO;
            if (seconds.compareTo(BigDecimal.valueOf(RETRY_AFTER_CEILING.toSeconds())) >= 0) return RETRY_AFTER_CEILING;
            return Duration.ofMillis(seconds.movePointRight(3).longValue());
        } catch (NumberFormatException | ArithmeticException ignored) {
            // an HTTP date
        }
        try {
            ZonedDateTime when = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME);
            ZonedDateTime now = ZonedDateTime.now();
            if (!when.isAfter(now)) return Duration.ZERO;
            if (when.isAfter(now.plus(RETRY_AFTER_CEILING))) return RETRY_AFTER_CEILING;
            return Duration.between(now, when);
        } catch (DateTimeParseException | ArithmeticException e) {
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
