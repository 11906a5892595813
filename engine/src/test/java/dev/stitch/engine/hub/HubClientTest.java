package dev.stitch.engine.hub;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.text.ClipTextModel;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.reference.ReferenceBackend;
import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code stitch pull}'s library half against a loopback server that answers like the Hub's file API. */
class HubClientTest {
    static final String REPO = "stitch-test/tiny-sd2", COMMIT = "5eedc0de" + "1".repeat(32);
    static final String UNET = "unet/diffusion_pytorch_model.safetensors", UNET16 = "unet/diffusion_pytorch_model.fp16.safetensors";
    static Map<String, byte[]> files;
    static Path f16;

    /** The tiny random-weight model as a Hub repository, with the extra files real repositories carry. */
    @BeforeAll
    static void repository(@TempDir Path tmp) throws IOException {
        RandomModel.write("tiny", tmp.resolve("f32"), 7, DType.F32, null);
        f16 = tmp.resolve("f16");
        RandomModel.write("tiny", f16, 8, DType.F16, null);   // another seed: the variant's numbers differ
        files = new TreeMap<>();
        Path f32 = tmp.resolve("f32");
        try (Stream<Path> s = Files.walk(f32)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) files.put(f32.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
        }
        files.put(UNET16, Files.readAllBytes(f16.resolve(UNET)));
        files.put("text_encoder/model.fp16.safetensors", Files.readAllBytes(f16.resolve("text_encoder/model.safetensors")));
        files.put("unet/diffusion_pytorch_model.bin", "pickle".getBytes(StandardCharsets.UTF_8));
        files.put("text_encoder/flax_model.msgpack", "flax".getBytes(StandardCharsets.UTF_8));
        files.put("v2-1_512-ema-pruned.ckpt", "checkpoint".getBytes(StandardCharsets.UTF_8));
        files.put("README.md", "# tiny".getBytes(StandardCharsets.UTF_8));
    }

    static HubClient client(FakeHub hub, Path cache, String token) { return new HubClient(new HubCache(cache), hub.endpoint(), token); }

    static Path snapshotFile(Path cache, String path) { return cache.resolve("models--stitch-test--tiny-sd2/snapshots").resolve(COMMIT).resolve(path); }

    @Test
    void aPullLaysOutTheCacheAsHuggingfaceHubAndLoads(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            HubCache.Snapshot s = client(hub, cache, "hf_token123").pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            Path repo = cache.resolve("models--stitch-test--tiny-sd2");
            assertEquals(repo.resolve("snapshots").resolve(COMMIT), s.dir());
            assertEquals(COMMIT, Files.readString(repo.resolve("refs/main")));
            // LFS files are named by their sha256, others by their git blob sha1; links are relative, as huggingface_hub makes them
            Path unet = s.dir().resolve(UNET);
            assertTrue(Files.isSymbolicLink(unet));
            assertEquals(Path.of("../../../blobs/" + FakeHub.sha256(files.get(UNET))), Files.readSymbolicLink(unet));
            assertEquals(Path.of("../../blobs/" + FakeHub.gitSha1(files.get("model_index.json"))), Files.readSymbolicLink(s.dir().resolve("model_index.json")));
            assertArrayEquals(files.get(UNET), Files.readAllBytes(unet));
            for (String skipped : List.of(UNET16, "unet/diffusion_pytorch_model.bin", "text_encoder/flax_model.msgpack", "v2-1_512-ema-pruned.ckpt", "README.md"))
                assertFalse(Files.exists(s.dir().resolve(skipped)), skipped);
            // the token goes to the Hub, never to the CDN
            assertTrue(hub.requests.stream().filter(r -> r.path().startsWith("/cdn/")).allMatch(r -> r.authorization() == null));
            assertTrue(hub.requests.stream().filter(r -> !r.path().startsWith("/cdn/")).allMatch(r -> "Bearer hf_token123".equals(r.authorization())));

            StableDiffusionPipeline pipe = StableDiffusionPipeline.load(new HubCache(cache).snapshot(HubId.parse(REPO)).dir());
            assertEquals(s.dir(), pipe.source);

            // a second pull finds everything in place and downloads nothing
            hub.requests.clear();
            client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            assertEquals(List.of("GET"), hub.requests.stream().map(FakeHub.Request::method).toList());
        }
    }

    @Test
    void aVariantIsPulledWhereItExistsAndLoads(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.tags.put("v1.0", COMMIT);
            HubCache.Snapshot s = client(hub, cache, null).pull(HubId.parse(REPO + "@v1.0"), "fp16", HubClient.Progress.NONE);
            assertTrue(Files.exists(s.dir().resolve(UNET16)) && !Files.exists(s.dir().resolve(UNET)));
            assertTrue(Files.exists(s.dir().resolve("vae/diffusion_pytorch_model.safetensors")));
            assertEquals(COMMIT, Files.readString(cache.resolve("models--stitch-test--tiny-sd2/refs/v1.0")));
            assertFalse(Files.exists(cache.resolve("models--stitch-test--tiny-sd2/refs/main")));
            StableDiffusionPipeline pipe = StableDiffusionPipeline.load(new HubCache(cache).snapshot(HubId.parse(REPO + "@v1.0")).dir(), null, "fp16");
            Ctx c = new Ctx(ReferenceBackend.INSTANCE);
            int[][] ids = {pipe.tokenizer.encode("a red cube")};
            assertArrayEquals(ClipTextModel.load(f16.resolve("text_encoder")).forward(c, ids).data(), pipe.textEncoder.forward(c, ids).data());
        }
    }

    @Test
    void anInterruptedPullResumesWhereItStopped(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.cutOnce.add(UNET);
            UserError e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("the download of " + UNET + " stopped after") && e.getMessage().endsWith("run the same 'stitch pull' again to resume it"),
                e.getMessage());
            String sha = FakeHub.sha256(files.get(UNET));
            Path partial = cache.resolve("models--stitch-test--tiny-sd2/blobs/" + sha + ".incomplete");
            long have = Files.size(partial);
            assertTrue(have > 0 && have < files.get(UNET).length, "partial " + have);
            // the resolver names the interrupted download
            UserError r = assertThrows(UserError.class, () -> new HubCache(cache).snapshot(HubId.parse(REPO)));
            assertTrue(r.getMessage().startsWith(REPO + ": the download in ") && r.getMessage().contains("missing unet/ weights")
                && r.getMessage().contains("interrupted: blobs/" + sha + ".incomplete"), r.getMessage());

            hub.requests.clear();
            client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            assertEquals(List.of("bytes=" + have + "-"), hub.requests.stream().filter(q -> q.path().equals("/cdn/" + sha)).map(FakeHub.Request::range).toList());
            assertArrayEquals(files.get(UNET), Files.readAllBytes(snapshotFile(cache, UNET)));
            assertFalse(Files.exists(partial));
        }
    }

    @Test
    void aDownloadThatGoesQuietIsGivenUpAndResumed(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.stallOnce.add(UNET);
            HubClient c = client(hub, cache, null);
            c.readTimeout = java.time.Duration.ofMillis(1000);
            UserError e = assertThrows(UserError.class, () -> c.pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("the download of " + UNET + " stopped after") && e.getMessage().contains("(no data for 1 s)"), e.getMessage());
            c.pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            assertArrayEquals(files.get(UNET), Files.readAllBytes(snapshotFile(cache, UNET)));
        }
    }

    @Test
    void aCorruptedFileIsRefusedByItsHash(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.corrupt.add(UNET);
            UserError e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            String sha = FakeHub.sha256(files.get(UNET));
            assertTrue(e.getMessage().contains(UNET + ": the downloaded file does not match the hash the Hub publishes (expected " + sha), e.getMessage());
            Path blobs = cache.resolve("models--stitch-test--tiny-sd2/blobs");
            assertFalse(Files.exists(blobs.resolve(sha)) || Files.exists(blobs.resolve(sha + ".incomplete")));
            assertFalse(Files.exists(snapshotFile(cache, UNET)));

            // a small (git-hashed) file too
            hub.corrupt.clear();
            hub.corrupt.add("vae/config.json");   // not reached by the first pull
            e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("vae/config.json: the downloaded file does not match the hash the Hub publishes (expected "
                + FakeHub.gitSha1(files.get("vae/config.json"))), e.getMessage());
        }
    }

    @Test
    void aGatedRepositoryWantsTheTokenAndNeverShowsIt(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.gatedToken = "hf_right";
            UserError e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().startsWith(REPO + " is gated") && e.getMessage().contains("set HF_TOKEN"), e.getMessage());
            e = assertThrows(UserError.class, () -> client(hub, cache, "hf_wrong_secret").pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("the token in HF_TOKEN has no access") && !e.getMessage().contains("hf_wrong_secret"), e.getMessage());
            assertEquals("x hf_*** y", client(hub, cache, "hf_wrong_secret").redact("x hf_wrong_secret y"));
            client(hub, cache, "hf_right").pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            assertTrue(Files.exists(snapshotFile(cache, UNET)));
        }
    }

    @Test
    void unknownModelsAndRevisionsAreNamed(@TempDir Path cache) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            UserError e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse("stitch-test/nope"), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().startsWith("stitch-test/nope: no such model at " + hub.endpoint()), e.getMessage());
            e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO + "@v9"), null, HubClient.Progress.NONE));
            assertEquals(REPO + ": no revision 'v9' at " + hub.endpoint(), e.getMessage());
            e = assertThrows(UserError.class, () -> client(hub, cache, null).pull(HubId.parse(REPO), "bf16", HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("no component has bf16 weights"), e.getMessage());
        }
    }

    @Test
    void aFileListThatLeadsOutOfTheCacheIsRefused(@TempDir Path tmp) throws IOException {
        Map<String, byte[]> evil = new TreeMap<>(files);
        evil.put("unet/../../../escaped.json", "{}".getBytes(StandardCharsets.UTF_8));
        try (FakeHub hub = new FakeHub(REPO, COMMIT, evil)) {
            UserError e = assertThrows(UserError.class, () -> client(hub, tmp.resolve("cache"), null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
            assertTrue(e.getMessage().contains("names an unsafe path 'unet/../../../escaped.json'"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("escaped.json")));
        }
    }

    @Test
    void theEnvironmentNamesEndpointCacheAndToken(@TempDir Path tmp) throws IOException {
        try (FakeHub hub = new FakeHub(REPO, COMMIT, files)) {
            hub.gatedToken = "hf_saved";
            Files.createDirectories(tmp.resolve("home"));
            Files.writeString(tmp.resolve("home/token"), "hf_saved\n");   // where huggingface-cli login saves it
            Map<String, String> env = new HashMap<>(Map.of("HF_ENDPOINT", hub.endpoint() + "/", "HF_HOME", tmp.resolve("home").toString()));
            HubClient c = HubClient.fromEnvironment(env::get);
            assertEquals(tmp.resolve("home/hub"), c.cache().root);
            c.pull(HubId.parse(REPO), null, HubClient.Progress.NONE);
            assertTrue(Files.exists(tmp.resolve("home/hub/models--stitch-test--tiny-sd2/snapshots").resolve(COMMIT).resolve(UNET)));

            String empty = tmp.resolve("no-home").toString();   // never this machine's own token or cache
            env.put("HF_HUB_OFFLINE", "1");
            UserError e = assertThrows(UserError.class, () -> HubClient.fromEnvironment(env::get));
            assertTrue(e.getMessage().startsWith("HF_HUB_OFFLINE is set"), e.getMessage());
            assertEquals(java.time.Duration.ofSeconds(30), HubClient.fromEnvironment(Map.of("HF_HOME", empty, "HF_HUB_DOWNLOAD_TIMEOUT", "30")::get).readTimeout);
            e = assertThrows(UserError.class, () -> HubClient.fromEnvironment(Map.of("HF_HOME", empty, "HF_HUB_DOWNLOAD_TIMEOUT", "soon")::get));
            assertTrue(e.getMessage().startsWith("HF_HUB_DOWNLOAD_TIMEOUT soon: expected a whole number of seconds"), e.getMessage());
            e = assertThrows(UserError.class, () -> HubClient.fromEnvironment(Map.of("HF_HOME", empty, "HF_ENDPOINT", "ftp://mirror")::get));
            assertTrue(e.getMessage().startsWith("HF_ENDPOINT ftp://mirror: expected an http(s) URL"), e.getMessage());
        }
    }

    @Test
    void withoutNetworkTheErrorSaysWhatToDo(@TempDir Path cache) throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        UserError e = assertThrows(UserError.class,
            () -> new HubClient(new HubCache(cache), "http://127.0.0.1:" + port, "hf_secret").pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
        assertTrue(e.getMessage().startsWith("cannot reach 127.0.0.1 (") && e.getMessage().contains("downloading needs the network")
            && e.getMessage().contains("--model org/name") && !e.getMessage().contains("\n"), e.getMessage());
        e = assertThrows(UserError.class,
            () -> new HubClient(new HubCache(cache), "https://hub.invalid", null).pull(HubId.parse(REPO), null, HubClient.Progress.NONE));
        assertTrue(e.getMessage().startsWith("cannot reach hub.invalid (unknown host)"), e.getMessage());
    }
}
