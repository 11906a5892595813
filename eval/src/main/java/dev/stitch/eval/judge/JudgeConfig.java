package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where and how to ask a vision-language judge: any server with the OpenAI chat-completions API (OpenAI, vLLM,
 * llama.cpp's server, LM Studio, …). The API key is never part of the configuration: only the NAME of the
 * environment variable that holds it ({@code apiKeyEnv}; empty for a server without authentication).
 *
 * @param baseUrl        the API root; requests go to {@code {baseUrl}/chat/completions}
 * @param maxAttempts    tries per question, the first included (retries on 408, 429, 5xx, timeouts, broken connections)
 * @param initialBackoff the wait before the first retry; it doubles per retry up to {@code maxBackoff}, with jitter
 * @param maxRetryAfter  the longest a server's {@code Retry-After} is honoured
 * @param temperature    sent when not null (0: the most repeatable answers)
 * @param maxTokens      sent as {@code max_tokens} when not null
 * @param questionDeadline the most one question may take, every attempt, wait and {@code Retry-After} included; not
 *                       recorded in run.json (it changes no answer), so a resumed run may give more or less time
 */
public record JudgeConfig(URI baseUrl, String model, String apiKeyEnv, int maxConcurrency, Duration requestTimeout,
                          int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter,
                          Double temperature, Integer maxTokens, Duration questionDeadline) {
    public static final String DEFAULT_API_KEY_ENV = "STITCH_JUDGE_API_KEY";
    public static final long DEFAULT_QUESTION_DEADLINE_SECONDS = 180;
    public static final Duration DEFAULT_QUESTION_DEADLINE = Duration.ofSeconds(DEFAULT_QUESTION_DEADLINE_SECONDS);
    private static final String REDACTED = "[redacted]";
    private static final Pattern CREDENTIAL_NAME = Pattern.compile("(?i)key|token|secret|pass|auth|sig|code|credential");

    public JudgeConfig {
        if (baseUrl == null || baseUrl.getScheme() == null || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https")))
            throw new UserError("judge base URL must be http(s)://..., got " + (baseUrl == null ? null : redact(baseUrl)));
        if (baseUrl.getHost() == null || baseUrl.getHost().isEmpty())
            throw new UserError("judge base URL " + redact(baseUrl) + " has no host name (expected e.g. http://localhost:8000/v1)");
        if (model == null || model.isBlank()) throw new UserError("judge model is not set");
        if (apiKeyEnv == null) apiKeyEnv = "";
        if (maxConcurrency < 1) throw new UserError("judge concurrency must be at least 1, got " + maxConcurrency);
        if (maxAttempts < 1) throw new UserError("judge attempts must be at least 1, got " + maxAttempts);
        if (requestTimeout.isNegative() || requestTimeout.isZero()) throw new UserError("judge timeout must be positive");
        if (questionDeadline == null) questionDeadline = DEFAULT_QUESTION_DEADLINE;
        if (questionDeadline.isNegative() || questionDeadline.isZero()) throw new UserError("judge question deadline must be positive");
    }

    /** A configuration with the defaults: key from STITCH_JUDGE_API_KEY, 4 requests at a time, 60 s per request,
     *  6 attempts, backoff 1 s doubling to 60 s, Retry-After honoured up to 120 s, temperature 0, 3 minutes per question. */
    public static JudgeConfig of(URI baseUrl, String model) {
        return new JudgeConfig(baseUrl, model, DEFAULT_API_KEY_ENV, 4, Duration.ofSeconds(60), 6,
            Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofSeconds(120), 0.0, null, DEFAULT_QUESTION_DEADLINE);
    }

    public JudgeConfig withApiKeyEnv(String name) {
        return new JudgeConfig(baseUrl, model, name, maxConcurrency, requestTimeout, maxAttempts, initialBackoff,
            maxBackoff, maxRetryAfter, temperature, maxTokens, questionDeadline);
    }

    public JudgeConfig withLimits(int concurrency, Duration timeout, int attempts) {
        return new JudgeConfig(baseUrl, model, apiKeyEnv, concurrency, timeout, attempts, initialBackoff, maxBackoff,
            maxRetryAfter, temperature, maxTokens, questionDeadline);
    }

    public JudgeConfig withBackoff(Duration initial, Duration max, Duration maxRetryAfter) {
        return new JudgeConfig(baseUrl, model, apiKeyEnv, maxConcurrency, requestTimeout, maxAttempts, initial, max,
            maxRetryAfter, temperature, maxTokens, questionDeadline);
    }

    public JudgeConfig withQuestionDeadline(Duration deadline) {
        return new JudgeConfig(baseUrl, model, apiKeyEnv, maxConcurrency, requestTimeout, maxAttempts, initialBackoff,
            maxBackoff, maxRetryAfter, temperature, maxTokens, deadline);
    }

    /**
     * {@code {baseUrl}/chat/completions}: the path appended before any query string ({@code ?api-key=...} stays a query),
     * without user information (the client sends that as a Basic {@code Authorization} header, as curl does).
     */
    URI endpoint() {
        String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath();
        String authority = baseUrl.getRawUserInfo() == null ? baseUrl.getRawAuthority()
            : baseUrl.getRawAuthority().substring(baseUrl.getRawUserInfo().length() + 1);
        return URI.create(baseUrl.getScheme() + "://" + authority + (path.endsWith("/") ? path : path + "/")
            + "chat/completions" + (baseUrl.getRawQuery() == null ? "" : "?" + baseUrl.getRawQuery()));
    }

    /**
     * {@code url} as it may be written down: user information ({@code user:pw@}) and every query value replaced by
     * {@code [redacted]}, since either may hold a credential.
     */
    public static String redact(URI url) {
        StringBuilder b = new StringBuilder();
        if (url.getScheme() != null) b.append(url.getScheme()).append(':');
        if (url.getRawAuthority() != null) {
            b.append("//");
            if (url.getRawUserInfo() != null) b.append(REDACTED).append('@');
            b.append(url.getRawUserInfo() == null ? url.getRawAuthority() : url.getRawAuthority().substring(url.getRawUserInfo().length() + 1));
        }
        if (url.getRawPath() != null) b.append(url.getRawPath());
        if (url.getRawQuery() != null) {
            b.append('?');
            String[] parts = url.getRawQuery().split("&", -1);
            for (int i = 0; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                b.append(i > 0 ? "&" : "").append(eq < 0 ? REDACTED : parts[i].substring(0, eq + 1) + REDACTED);
            }
        }
        if (url.getRawFragment() != null) b.append('#').append(url.getRawFragment());
        return b.toString();
    }

    /**
     * The credentials the base URL carries, for log redaction: its user information and the values of query
     * parameters named like one ({@code key}, {@code token}, {@code secret}, {@code password}, {@code auth},
     * {@code sig}, {@code code}, {@code credential}), raw and decoded. (Written URLs redact every query value.)
     */
    public List<String> urlSecrets() {
        List<String> out = new ArrayList<>();
        if (baseUrl.getRawUserInfo() != null) {
            out.add(baseUrl.getRawUserInfo());
            out.add(baseUrl.getUserInfo());
            int colon = baseUrl.getUserInfo().indexOf(':');
            if (colon >= 0) out.add(baseUrl.getUserInfo().substring(colon + 1));
        }
        if (baseUrl.getRawQuery() != null)
            for (String part : baseUrl.getRawQuery().split("&")) {
                int eq = part.indexOf('=');
                if (eq < 0 || !CREDENTIAL_NAME.matcher(part.substring(0, eq)).find()) continue;
                String v = part.substring(eq + 1);
                out.add(v);
                out.add(URLDecoder.decode(v, StandardCharsets.UTF_8));
            }
        out.removeIf(String::isEmpty);
        return List.copyOf(new LinkedHashSet<>(out));
    }

    /** The JSON form recorded in run.json: no key (only the variable's name), and the URL {@linkplain #redact redacted}. */
    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("base_url", redact(baseUrl));
        o.put("model", model);
        o.put("api_key_env", apiKeyEnv);
        o.put("max_concurrency", maxConcurrency);
        o.put("request_timeout_ms", requestTimeout.toMillis());
        o.put("max_attempts", maxAttempts);
        o.put("initial_backoff_ms", initialBackoff.toMillis());
        o.put("max_backoff_ms", maxBackoff.toMillis());
        o.put("max_retry_after_ms", maxRetryAfter.toMillis());
        if (temperature != null) o.put("temperature", temperature);
        if (maxTokens != null) o.put("max_tokens", maxTokens);
        return o;
    }

    /**
     * Reads {@link #toJson}'s form; keys left out take {@link #of}'s defaults ({@code "temperature": null}: none sent).
     * A URL that carried credentials comes back redacted: give it again to ask the server.
     */
    public static JudgeConfig fromJson(JsonNode o) {
        if (o == null || !o.isObject() || !o.path("base_url").isTextual() || !o.path("model").isTextual())
            throw new UserError("judge configuration needs \"base_url\" and \"model\" strings");
        JudgeConfig d = of(URI.create(o.get("base_url").textValue()), o.get("model").textValue());
        return new JudgeConfig(d.baseUrl, d.model, o.path("api_key_env").asText(d.apiKeyEnv),
            o.path("max_concurrency").asInt(d.maxConcurrency),
            Duration.ofMillis(o.path("request_timeout_ms").asLong(d.requestTimeout.toMillis())),
            o.path("max_attempts").asInt(d.maxAttempts),
            Duration.ofMillis(o.path("initial_backoff_ms").asLong(d.initialBackoff.toMillis())),
            Duration.ofMillis(o.path("max_backoff_ms").asLong(d.maxBackoff.toMillis())),
            Duration.ofMillis(o.path("max_retry_after_ms").asLong(d.maxRetryAfter.toMillis())),
            o.has("temperature") ? (o.get("temperature").isNull() ? null : o.get("temperature").asDouble()) : d.temperature,
            o.has("max_tokens") ? o.get("max_tokens").asInt() : null, DEFAULT_QUESTION_DEADLINE);
    }
}
