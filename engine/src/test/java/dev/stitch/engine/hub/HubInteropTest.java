package dev.stitch.engine.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A cache written by {@link HubClient#pull} is the one huggingface_hub writes and reads, checked by huggingface_hub
 * 0.20.3 and diffusers 0.25.1 themselves ({@code src/test/python/hub_interop.py}). Runs where STITCH_HUB_PYTHON
 * names a Python that has them; skipped elsewhere.
 */
@EnabledIfEnvironmentVariable(named = "STITCH_HUB_PYTHON", matches = ".+")
class HubInteropTest {
    @Test
    void huggingfaceHubAndDiffusersReadWhatStitchPulled(@TempDir Path tmp) throws Exception {
        HubClientTest.repository(tmp.resolve("repo"));
        try (FakeHub hub = new FakeHub(HubClientTest.REPO, HubClientTest.COMMIT, HubClientTest.files)) {
            new HubClient(new HubCache(tmp.resolve("stitch")), hub.endpoint(), null).pull(HubId.parse(HubClientTest.REPO), null, HubClient.Progress.NONE);
            ProcessBuilder pb = new ProcessBuilder(System.getenv("STITCH_HUB_PYTHON"), Path.of("src/test/python/hub_interop.py").toString(),
                hub.endpoint(), tmp.resolve("stitch").toString(), tmp.resolve("fresh").toString(), HubClientTest.REPO).redirectErrorStream(true);
            pb.environment().put("HF_ENDPOINT", hub.endpoint());
            pb.environment().put("HF_HUB_DISABLE_PROGRESS_BARS", "1");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
        }
    }
}
