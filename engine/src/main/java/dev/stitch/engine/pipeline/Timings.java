package dev.stitch.engine.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Where a generation's time went, in the manner of stable-diffusion.cpp's closing lines: loading the model, the text
 * encoder, each denoising step, the VAE decode, the whole run, and the process's peak memory (resident set).
 *
 * @param loadSeconds        reading and setting up the model (0 when the caller did not time it)
 * @param textEncoderSeconds the prompts through the text encoder
 * @param stepSeconds        each denoising step (one UNet call, two rows per prompt with guidance)
 * @param vaeSeconds         the VAE decode (0 when nothing was decoded)
 * @param totalSeconds       the load plus the whole generation
 * @param peakRssBytes       the process's peak resident set so far, −1 where the system does not say
 */
public record Timings(double loadSeconds, double textEncoderSeconds, double[] stepSeconds, double vaeSeconds,
                      double totalSeconds, long peakRssBytes) {
    public Timings {
        stepSeconds = stepSeconds.clone();
    }

    @Override public double[] stepSeconds() { return stepSeconds.clone(); }

    /** The mean of the steps, 0 with none. */
    public double meanStepSeconds() { return Arrays.stream(stepSeconds).average().orElse(0); }

    /** The same run with the model's load time added in front (to the total too). */
    public Timings withLoad(double seconds) {
        return new Timings(seconds, textEncoderSeconds, stepSeconds, vaeSeconds, totalSeconds + seconds, peakRssBytes);
    }

    /**
     * One line: {@code load 4.1 s, text encoder 1.6 s, 3 steps at 14.2 s/step, VAE decode 30.5 s, total 78.9 s,
     * peak memory 4.62 GB}.
     */
    public String summary() {
        int n = stepSeconds.length;
        return String.format(Locale.ROOT, "load %.1f s, text encoder %.1f s, %d step%s at %.2f s/step, VAE decode %.1f s, "
                + "total %.1f s, peak memory %s", loadSeconds, textEncoderSeconds, n, n == 1 ? "" : "s", meanStepSeconds(),
            vaeSeconds, totalSeconds, peakRssBytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.2f GB", peakRssBytes / 1e9));
    }

    /** The same as a JSON object (seconds and bytes; {@code peak_rss_bytes} null where unknown). */
    public ObjectNode json() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("load_s", loadSeconds);
        o.put("text_encoder_s", textEncoderSeconds);
        o.put("steps", stepSeconds.length);
        o.put("step_mean_s", meanStepSeconds());
        var steps = o.putArray("step_s");
        for (double s : stepSeconds) steps.add(s);
        o.put("vae_decode_s", vaeSeconds);
        o.put("total_s", totalSeconds);
        if (peakRssBytes < 0) o.putNull("peak_rss_bytes");
        else o.put("peak_rss_bytes", peakRssBytes);
        return o;
    }

    /** This process's peak resident set in bytes ({@code VmHWM} on Linux), −1 where the system does not say. */
    public static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | RuntimeException e) {
            // not Linux, or an unreadable /proc: unknown
        }
        return -1;
    }
}
