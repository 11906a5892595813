package dev.stitch.eval.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stitch.eval.prompts.Jsonl;
import dev.stitch.kernels.UserError;

import java.net.URI;
import java.time.Duration;

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
 */
public record JudgeConfig(URI baseUrl, String model, String apiKeyEnv, int maxConcurrency, Duration requestTimeout,
                          int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter,
                          Double temperature, Integer maxTokens) {
    public static final String DEFAULT_API_KEY_ENV = "STITCH_JUDGE_API_KEY";

    public JudgeConfig {
        if (baseUrl == null || baseUrl.getScheme() == null || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https")))
            throw new UserError("judge base URL must be http(s)://..., got " + baseUrl);
        if (model == null || model.isBlank()) throw new UserError("judge model is not set");
        if (apiKeyEnv == null) apiKeyEnv = "";
        if (maxConcurrency < 1) throw new UserError("judge concurrency must be at least 1, got " + maxConcurrency);
        if (maxAttempts < 1) throw new UserError("judge attempts must be at least 1, got " + maxAttempts);
        if (requestTimeout.isNegative() || requestTimeout.isZero()) throw new UserError("judge timeout must be positive");
    }

    /** A configuration with the defaults: key from STITCH_JUDGE_API_KEY, 4 requests at a time, 60 s per request,
     *  6 attempts, backoff 1 s doubling to 60 s, Retry-After honoured up to 120 s, temperature 0. */
    public static JudgeConfig of(URI baseUrl, String model) {
        return new JudgeConfig(baseUrl, model, DEFAULT_API_KEY_ENV, 4, Duration.ofSeconds(60), 6,
            Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofSeconds(120), 0.0, null);
    }

    public JudgeConfig withApiKeyEnv(String name) {
        return new JudgeConfig(baseUrl, model, name, maxConcurrency, requestTimeout, maxAttempts, initialBackoff,
            maxBackoff, maxRetryAfter, temperature, maxTokens);
    }

    public JudgeConfig withLimits(int concurrency, Duration timeout, int attempts) {
        return new JudgeConfig(baseUrl, model, apiKeyEnv, concurrency, timeout, attempts, initialBackoff, maxBackoff,
            maxRetryAfter, temperature, maxTokens);
    }

    public JudgeConfig withBackoff(Duration initial, Duration max, Duration maxRetryAfter) {
        return new JudgeConfig(baseUrl, model, apiKeyEnv, maxConcurrency, requestTimeout, maxAttempts, initial, max,
            maxRetryAfter, temperature, maxTokens);
    }

    URI endpoint() {
        String s = baseUrl.toString();
        return URI.create((s.endsWith("/") ? s : s + "/") + "chat/completions");
    }

    /** The JSON form recorded in run.json (no key, only the variable's name). */
    public ObjectNode toJson() {
        ObjectNode o = Jsonl.JSON.createObjectNode();
        o.put("base_url", baseUrl.toString());
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

    /** Reads {@link #toJson}'s form; keys left out take {@link #of}'s defaults ({@code "temperature": null}: none sent). */
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
            o.has("max_tokens") ? o.get("max_tokens").asInt() : null);
    }
}
