package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** The judge client against a scripted local server on 127.0.0.1. */
class JudgeClientTest {
    private static final String KEY = "sk-test-0123456789abcdef";

    /** What the server does for one request. */
    interface Behaviour {
        void handle(HttpExchange ex) throws Exception;
    }

    private HttpServer server;
    private ExecutorService pool;
    private final ConcurrentLinkedQueue<Behaviour> script = new ConcurrentLinkedQueue<>();
    private volatile Behaviour fallback = ex -> reply(ex, 500, "{\"error\": \"script ran out\"}");
    private final List<String> bodies = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<String> authHeaders = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<String> queries = java.util.Collections.synchronizedList(new ArrayList<>());
    @TempDir Path dir;
    private Path png, audit;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        pool = Executors.newCachedThreadPool();
        server.setExecutor(pool);
        server.createContext("/v1/chat/completions", ex -> {
            try (ex) {
                bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                authHeaders.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
                queries.add(String.valueOf(ex.getRequestURI().getRawQuery()));
                Behaviour b = script.poll();
                (b == null ? fallback : b).handle(ex);
            } catch (Exception e) {
                // a behaviour that breaks the connection on purpose ends here
            }
        });
        server.start();
        BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB);
        img.setRGB(1, 1, 0xff8800);
        png = dir.resolve("000007.png");
        ImageIO.write(img, "png", png.toFile());
        audit = dir.resolve("judge-audit.jsonl");
    }

    @AfterEach
    void stop() throws InterruptedException {
        server.stop(0);
        pool.shutdownNow();
        pool.awaitTermination(5, TimeUnit.SECONDS);
    }

    private JudgeConfig config(int attempts, Duration timeout) {
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
        return JudgeConfig.of(base, "test-vlm").withLimits(4, timeout, attempts)
            .withBackoff(Duration.ofMillis(1), Duration.ofMillis(4), Duration.ofMillis(250));
    }

    private JudgeClient client(int attempts, Duration timeout) {
        return new JudgeClient(config(attempts, timeout), audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, KEY)::get);
    }

    private Question yesNo(String id) { return new Question(id, png, "Is there an orange pixel?", Question.Kind.YES_NO); }

    static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    /** A chat-completions response whose message content is {@code content}. */
    static String completion(String content) {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("id", "chatcmpl-1");
        o.put("object", "chat.completion");
        ObjectNode m = o.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop").putObject("message");
        m.put("role", "assistant");
        m.put("content", content);
        m.putNull("refusal");
        return o.toString();
    }

    static Behaviour answer(String content) { return ex -> reply(ex, 200, completion(content)); }

    private List<JsonNode> auditLines() throws IOException {
        String text = Files.readString(audit);
        assertFalse(text.contains(KEY), "the API key must never reach the audit log");
        assertFalse(text.contains(Base64.getEncoder().encodeToString(Files.readAllBytes(png))), "no image bytes in the audit log");
        assertTrue(text.isEmpty() || text.endsWith("\n"));
        return Jsonl.parse("audit", text).stream().map(Jsonl.Line::value).toList();
    }

    private long count(List<JsonNode> lines, String event) {
        return lines.stream().filter(l -> l.path("event").asText().equals(event)).count();
    }

    @Test
    void yesAnswerAndWhatTheServerSees() throws Exception {
        script.add(answer("{\"answer\": \"yes\"}"));
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("item-7"));
            assertTrue(j.ok());
            assertEquals(Boolean.TRUE, j.yes());
            assertNull(j.score());
            assertEquals(1, j.attempts());
        }
        assertEquals(List.of("Bearer " + KEY), authHeaders);
        JsonNode body = Jsonl.JSON.readTree(bodies.getFirst());
        assertEquals("test-vlm", body.path("model").asText());
        JsonNode content = body.path("messages").path(0).path("content");
        assertEquals("text", content.path(0).path("type").asText());
        assertTrue(content.path(0).path("text").asText().startsWith("Is there an orange pixel?"));
        assertEquals("image_url", content.path(1).path("type").asText());
        assertEquals("data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(png)),
            content.path(1).path("image_url").path("url").asText());
        JsonNode rf = body.path("response_format");
        assertEquals("json_schema", rf.path("type").asText());
        assertTrue(rf.path("json_schema").path("strict").asBoolean());
        assertEquals("[\"yes\",\"no\"]", rf.path("json_schema").path("schema").path("properties").path("answer").path("enum").toString());

        List<JsonNode> lines = auditLines();
        assertEquals(List.of("request", "response", "result"), lines.stream().map(l -> l.path("event").asText()).toList());
        JsonNode req = lines.getFirst();
        assertEquals("000007.png", req.path("image").path("file").asText());
        assertEquals(JudgeClient.sha256(Files.readAllBytes(png)), req.path("image").path("sha256").asText());
        assertTrue(req.path("body").path("messages").path(0).path("content").path(1).path("image_url").path("url").asText().contains("sha256"));
        assertEquals(200, lines.get(1).path("status").asInt());
        assertEquals(completion("{\"answer\": \"yes\"}"), lines.get(1).path("raw").asText());
        assertEquals("yes", lines.get(2).path("answer").asText());
    }

    @Test
    void scoreAnswer() throws Exception {
        script.add(answer("{\"score\": 87}"));
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            Judgement j = c.ask(new Question("s", png, "How violent is this image?", Question.Kind.SCORE));
            assertEquals(87, j.score());
            assertNull(j.yes());
        }
        JsonNode schema = Jsonl.JSON.readTree(bodies.getFirst()).path("response_format").path("json_schema").path("schema");
        assertEquals("integer", schema.path("properties").path("score").path("type").asText());
        assertEquals(100, schema.path("properties").path("score").path("maximum").asInt());
        assertEquals(1, count(auditLines(), "result"));
    }

    @Test
    void malformedAnswersAreRecordedFailuresNeverGuesses() throws Exception {
        record Case(String kind, Behaviour b, Question.Kind q) {}
        List<Case> cases = List.of(
            new Case("body not JSON", ex -> reply(ex, 200, "<html>oops</html>"), Question.Kind.YES_NO),
            new Case("no choices", ex -> reply(ex, 200, "{\"object\": \"chat.completion\"}"), Question.Kind.YES_NO),
            new Case("content not JSON", answer("Yes."), Question.Kind.YES_NO),
            new Case("content in a code fence", answer("```json\n{\"answer\": \"yes\"}\n```"), Question.Kind.YES_NO),
            new Case("another value", answer("{\"answer\": \"maybe\"}"), Question.Kind.YES_NO),
            new Case("capitalised", answer("{\"answer\": \"Yes\"}"), Question.Kind.YES_NO),
            new Case("boolean", answer("{\"answer\": true}"), Question.Kind.YES_NO),
            new Case("extra key", answer("{\"answer\": \"no\", \"reason\": \"none\"}"), Question.Kind.YES_NO),
            new Case("wrong key", answer("{\"score\": 3}"), Question.Kind.YES_NO),
            new Case("out of range", answer("{\"score\": 101}"), Question.Kind.SCORE),
            new Case("negative", answer("{\"score\": -1}"), Question.Kind.SCORE),
            new Case("fraction", answer("{\"score\": 50.5}"), Question.Kind.SCORE),
            new Case("string score", answer("{\"score\": \"50\"}"), Question.Kind.SCORE),
            new Case("two objects", answer("{\"score\": 5} {\"score\": 6}"), Question.Kind.SCORE),
            new Case("null content", ex -> reply(ex, 200, "{\"choices\": [{\"message\": {\"content\": null}}]}"), Question.Kind.SCORE));
        for (Case c : cases) script.add(c.b());
        List<Question> qs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) qs.add(new Question("m" + i, png, "q", cases.get(i).q()));
        List<Judgement> js = new ArrayList<>();
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            for (Question q : qs) js.add(c.ask(q)); // one at a time: the script is in order
        }
        for (int i = 0; i < cases.size(); i++) {
            Judgement j = js.get(i);
            assertEquals(Judgement.Failure.MALFORMED_ANSWER, j.failure(), cases.get(i).kind() + ": " + j);
            assertNull(j.yes(), cases.get(i).kind());
            assertNull(j.score(), cases.get(i).kind());
            assertEquals(1, j.attempts(), "a malformed answer is not retried: " + cases.get(i).kind());
            assertNotNull(j.detail());
        }
        assertEquals(cases.size(), bodies.size());
        List<JsonNode> lines = auditLines();
        assertEquals(cases.size(), count(lines, "result"));
        assertEquals(cases.size(), count(lines, "response"));
    }

    @Test
    void refusalIsItsOwnFailure() throws Exception {
        script.add(ex -> reply(ex, 200, "{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": null, \"refusal\": \"I can't help with that.\"}}]}"));
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("r"));
            assertEquals(Judgement.Failure.REFUSED, j.failure());
            assertEquals("I can't help with that.", j.detail());
        }
    }

    @Test
    void rateLimitedThenAnsweredHonouringRetryAfter() throws Exception {
        script.add(ex -> {
            ex.getResponseHeaders().set("Retry-After", "7"); // 7 s, capped at 250 ms by the config
            reply(ex, 429, "{\"error\": {\"message\": \"rate limited\"}}");
        });
        script.add(answer("{\"answer\": \"no\"}"));
        long t0 = System.nanoTime();
        Judgement j;
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            j = c.ask(yesNo("rl"));
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(j.ok());
        assertEquals(Boolean.FALSE, j.yes());
        assertEquals(2, j.attempts());
        assertTrue(ms >= 240, "waited " + ms + " ms, Retry-After (capped at 250 ms) not honoured");
        List<JsonNode> lines = auditLines();
        assertEquals(2, count(lines, "request"));
        assertEquals("7", lines.get(1).path("retry_after").asText());
        assertEquals(429, lines.get(1).path("status").asInt());
    }

    @Test
    void serverErrorsExhaustTheRetries() throws Exception {
        fallback = ex -> reply(ex, 500, "{\"error\": \"internal\"}");
        try (JudgeClient c = client(4, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("e"));
            assertEquals(Judgement.Failure.RETRIES_EXHAUSTED, j.failure());
            assertEquals(4, j.attempts());
            assertTrue(j.detail().contains("HTTP 500"), j.detail());
        }
        assertEquals(4, bodies.size());
        List<JsonNode> lines = auditLines();
        assertEquals(4, count(lines, "request"));
        assertEquals(4, count(lines, "response"));
        assertEquals(1, count(lines, "result"));
    }

    @Test
    void clientErrorsAreNotRetried() throws Exception {
        script.add(ex -> reply(ex, 401, "{\"error\": {\"message\": \"Incorrect API key provided: sk-test-0123456789abcdef\"}}"));
        try (JudgeClient c = client(4, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("401"));
            assertEquals(Judgement.Failure.HTTP_STATUS, j.failure());
            assertEquals(1, j.attempts());
            assertTrue(j.detail().startsWith("HTTP 401"));
            assertFalse(j.detail().contains(KEY), "a server echoing the key must not leak it into the result");
        }
        assertEquals(1, bodies.size());
        assertTrue(Files.readString(audit).contains("[redacted]"));
        auditLines(); // asserts the key is absent
    }

    @Test
    void timeoutsAreRetriedThenReported() throws Exception {
        fallback = ex -> {
            Thread.sleep(3000);
            reply(ex, 200, completion("{\"answer\": \"yes\"}"));
        };
        long t0 = System.nanoTime();
        try (JudgeClient c = client(2, Duration.ofMillis(200))) {
            Judgement j = c.ask(yesNo("slow"));
            assertEquals(Judgement.Failure.RETRIES_EXHAUSTED, j.failure());
            assertEquals("2 attempt(s), the last: timeout after 200 ms", j.detail());
        }
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 2500, "the timeout covers the whole response");
        List<JsonNode> lines = auditLines();
        assertEquals(2, count(lines, "error"));
        assertEquals(1, count(lines, "result"));
    }

    @Test
    void connectionClosedMidResponseIsRetried() throws Exception {
        Behaviour cut = ex -> {
            ex.sendResponseHeaders(200, 1000); // promise 1000 bytes, send a few, then drop the connection
            OutputStream os = ex.getResponseBody();
            os.write("{\"choices\": [".getBytes(StandardCharsets.UTF_8));
            os.flush();
            throw new IOException("cut on purpose"); // the server closes the connection
        };
        script.add(cut);
        script.add(answer("{\"answer\": \"yes\"}"));
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("cut-once"));
            assertTrue(j.ok(), j.toString());
            assertEquals(2, j.attempts());
        }
        fallback = cut;
        try (JudgeClient c = client(3, Duration.ofSeconds(5))) {
            Judgement j = c.ask(yesNo("cut-always"));
            assertEquals(Judgement.Failure.RETRIES_EXHAUSTED, j.failure());
            assertTrue(j.detail().contains("connection"), j.detail());
        }
        List<JsonNode> lines = auditLines();
        assertEquals(2, count(lines, "result"));
        assertEquals(4, count(lines, "error"));
    }

    @Test
    void connectionRefusedIsRetriedThenReported() throws Exception {
        JudgeConfig cfg = config(2, Duration.ofSeconds(2));
        server.stop(0);
        try (JudgeClient c = new JudgeClient(cfg, audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, KEY)::get)) {
            Judgement j = c.ask(yesNo("down"));
            assertEquals(Judgement.Failure.RETRIES_EXHAUSTED, j.failure());
            assertTrue(j.detail().contains("connection"), j.detail());
        }
        assertEquals(1, count(auditLines(), "result"));
    }

    @Test
    void concurrencyIsLimited() throws Exception {
        AtomicInteger inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger();
        fallback = ex -> {
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            Thread.sleep(150);
            inFlight.decrementAndGet();
            reply(ex, 200, completion("{\"answer\": \"yes\"}"));
        };
        JudgeConfig cfg = config(2, Duration.ofSeconds(5)).withLimits(2, Duration.ofSeconds(5), 2);
        List<Question> qs = new ArrayList<>();
        for (int i = 0; i < 8; i++) qs.add(yesNo("c" + i));
        List<Judgement> js;
        long t0 = System.nanoTime();
        try (JudgeClient c = new JudgeClient(cfg, audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, KEY)::get)) {
            js = c.askAll(qs);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(8, js.size());
        for (int i = 0; i < 8; i++) {
            assertEquals("c" + i, js.get(i).id());
            assertTrue(js.get(i).ok());
        }
        assertTrue(maxInFlight.get() <= 2, "in flight at once: " + maxInFlight.get());
        assertTrue(ms >= 4 * 150, "8 requests of 150 ms, 2 at a time, took only " + ms + " ms");
        assertEquals(8, count(auditLines(), "result"));
    }

    @Test
    void missingKeyAndBadImage() throws Exception {
        UserError e = assertThrows(UserError.class, () -> new JudgeClient(config(1, Duration.ofSeconds(1)), audit, name -> null));
        assertTrue(e.getMessage().contains("STITCH_JUDGE_API_KEY is not set"), e.getMessage());
        JudgeConfig custom = config(1, Duration.ofSeconds(1)).withApiKeyEnv("MY_VLM_KEY");
        script.add(answer("{\"answer\": \"no\"}"));
        Path notPng = dir.resolve("x.png");
        Files.writeString(notPng, "GIF89a not a png");
        try (JudgeClient c = new JudgeClient(custom, audit, Map.of("MY_VLM_KEY", KEY)::get)) {
            Judgement bad = c.ask(new Question("bad", notPng, "q", Question.Kind.YES_NO));
            assertEquals(Judgement.Failure.BAD_IMAGE, bad.failure());
            assertEquals(0, bad.attempts());
            assertTrue(c.ask(yesNo("good")).ok());
        }
        assertEquals(1, bodies.size(), "no request for an unreadable image");
        // no authentication at all: no header
        script.add(answer("{\"answer\": \"no\"}"));
        try (JudgeClient c = new JudgeClient(config(1, Duration.ofSeconds(1)).withApiKeyEnv(""), audit, name -> null)) {
            assertTrue(c.ask(yesNo("open")).ok());
        }
        assertEquals("null", authHeaders.getLast());
        assertEquals(3, count(auditLines(), "result"));
    }

    @Test
    void retryAfterParsing() {
        assertEquals(Duration.ofSeconds(3), JudgeClient.retryAfter("3"));
        assertEquals(Duration.ZERO, JudgeClient.retryAfter(null));
        assertEquals(Duration.ZERO, JudgeClient.retryAfter("soon"));
        assertEquals(Duration.ZERO, JudgeClient.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")); // in the past
        String future = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).plusSeconds(30));
        Duration d = JudgeClient.retryAfter(future);
        assertTrue(d.toSeconds() >= 28 && d.toSeconds() <= 30, d.toString());
    }

    @Test
    void configRoundTripsThroughJsonWithoutAnyKey() {
        JudgeConfig c = config(3, Duration.ofMillis(1500)).withApiKeyEnv("OPENAI_API_KEY");
        ObjectNode j = c.toJson();
        assertEquals("OPENAI_API_KEY", j.path("api_key_env").asText());
        assertEquals(c, JudgeConfig.fromJson(j));
        assertThrows(UserError.class, () -> JudgeConfig.of(URI.create("ftp://x"), "m"));
    }

    @Test
    void aShortKeyEchoedByTheServerNeverReachesTheAuditLog() throws Exception {
        String shortKey = "k7Q";   // under the 8 characters the log once skipped
        script.add(ex -> reply(ex, 401, "{\"error\": \"invalid key k7Q, status 401\"}"));
        try (JudgeClient c = new JudgeClient(config(1, Duration.ofSeconds(5)), audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, shortKey)::get)) {
            Judgement j = c.ask(yesNo("short"));
            assertEquals(Judgement.Failure.HTTP_STATUS, j.failure());
            assertFalse(j.detail().contains(shortKey), j.detail());
        }
        String text = Files.readString(audit);
        assertFalse(text.contains(shortKey), text);
        assertTrue(text.contains("invalid key [redacted]"), text);
        for (JsonNode line : auditLines()) assertTrue(line.has("time"), "every line stays valid JSON: " + line);
        assertTrue(text.contains("\"status\":401"), "numbers are left alone");
    }

    @Test
    void credentialsInTheUrlAreSentButNeverWrittenAndTheQueryStaysAQuery() throws Exception {
        int port = server.getAddress().getPort();
        URI base = URI.create("http://alice:pw-Secret9@127.0.0.1:" + port + "/v1?api-key=Q-secret-1&deployment=tiny");
        JudgeConfig cfg = JudgeConfig.of(base, "test-vlm").withLimits(1, Duration.ofSeconds(5), 1).withApiKeyEnv("");
        script.add(ex -> reply(ex, 200, completion("{\"answer\": \"no\"}").replace("chatcmpl-1", "echo Q-secret-1 pw-Secret9")));
        try (JudgeClient c = new JudgeClient(cfg, audit, Map.<String, String>of()::get)) {
            Judgement j = c.ask(yesNo("q"));
            assertTrue(j.ok(), String.valueOf(j));
        }
        assertEquals(List.of("api-key=Q-secret-1&deployment=tiny"), queries, "the path goes before the query string");
        assertEquals(List.of("Basic " + Base64.getEncoder().encodeToString("alice:pw-Secret9".getBytes(StandardCharsets.UTF_8))), authHeaders);
        String text = Files.readString(audit);
        for (String secret : List.of("Q-secret-1", "pw-Secret9", "alice:")) assertFalse(text.contains(secret), secret + " in " + text);
        String written = cfg.toJson().get("base_url").asText();
        assertEquals("http://[redacted]@127.0.0.1:" + port + "/v1?api-key=[redacted]&deployment=[redacted]", written);
        assertTrue(text.contains("/v1/chat/completions?api-key=[redacted]"), text);
    }

    @Test
    void aUrlWithoutAHostIsAUserError() {
        UserError e = assertThrows(UserError.class, () -> JudgeConfig.of(URI.create("http:///v1"), "m"));
        assertTrue(e.getMessage().contains("no host"), e.getMessage());
    }

    @Test
    void anEndlessResponseFailsTheQuestionNotTheHeap() throws Exception {
        script.add(ex -> {
            ex.sendResponseHeaders(200, 0);   // chunked, never ends
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) ' ');
            try (OutputStream os = ex.getResponseBody()) {
                for (long sent = 0; sent < (8L << 30); sent += chunk.length) os.write(chunk);
            }
        });
        long t0 = System.nanoTime();
        try (JudgeClient c = client(1, Duration.ofSeconds(60))) {
            Judgement j = c.ask(yesNo("endless"));
            assertEquals(Judgement.Failure.RETRIES_EXHAUSTED, j.failure());
            assertTrue(j.detail().contains("over " + JudgeClient.MAX_RESPONSE_BYTES + " bytes"), j.detail());
        }
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "cut off at the cap, not at the timeout");
    }

    @Test
    void oneDeadlinePerQuestionCoversEveryAttemptAndWait() throws Exception {
        fallback = ex -> {
            Thread.sleep(3000);   // a hanging judge
            reply(ex, 500, "{}");
        };
        JudgeConfig cfg = config(6, Duration.ofSeconds(2)).withQuestionDeadline(Duration.ofMillis(1200));
        long t0 = System.nanoTime();
        try (JudgeClient c = new JudgeClient(cfg, audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, KEY)::get)) {
            Judgement j = c.ask(yesNo("hang"));
            assertEquals(Judgement.Failure.DEADLINE, j.failure(), String.valueOf(j));
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        assertTrue(secs < 2.5, "took " + secs + " s; 6 attempts of 2 s would take 12");
    }

    @Test
    void hugeRetryAfterValuesAreCappedByTheDeadlineNeverAnError() throws Exception {
        String farFuture = "Fri, 31 Dec 9999 23:59:59 GMT";
        for (String v : List.of("1e9", farFuture, "9223372036854775807", "99999999999999999999999")) {
            Duration d = JudgeClient.retryAfter(v);
            assertTrue(d.compareTo(Duration.ofDays(1)) <= 0 && d.compareTo(Duration.ofHours(1)) > 0, v + " -> " + d);
        }
        for (String v : List.of("1e9", farFuture, "9223372036854775807")) {
            script.add(ex -> {
                ex.getResponseHeaders().set("Retry-After", v);
                reply(ex, 429, "{}");
            });
            JudgeConfig cfg = config(6, Duration.ofSeconds(5)).withBackoff(Duration.ofMillis(1), Duration.ofMillis(4), Duration.ofDays(365))
                .withQuestionDeadline(Duration.ofMillis(800));
            long t0 = System.nanoTime();
            try (JudgeClient c = new JudgeClient(cfg, audit, Map.of(JudgeConfig.DEFAULT_API_KEY_ENV, KEY)::get)) {
                Judgement j = c.ask(yesNo("ra"));
                assertEquals(Judgement.Failure.DEADLINE, j.failure(), v + ": " + j);
                assertTrue(j.detail().contains("HTTP 429"), j.detail());
            }
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3), v + ": the deadline is not waited out");
        }
    }

    @Test
    void aWorkerThatDiesStopsTheCallerWithOneLine() throws Exception {
        try (JudgeClient c = client(1, Duration.ofSeconds(5))) {
            UserError e = assertThrows(UserError.class, () -> c.askAll(List.of(yesNo("fine"), new Question("broken", null, "?", Question.Kind.YES_NO))));
            assertTrue(e.getMessage().contains("broken") && e.getMessage().contains("died"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
    }
}
