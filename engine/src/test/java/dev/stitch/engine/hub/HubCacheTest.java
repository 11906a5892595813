package dev.stitch.engine.hub;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The resolver on a cache laid out as huggingface_hub lays it out: several snapshots, refs for a branch and a tag,
 * commit prefixes, and downloads that stopped halfway.
 */
class HubCacheTest {
    static final String OLD = "abcd1111" + "0".repeat(32), NEW = "abcd2222" + "0".repeat(32), BROKEN = "ef01" + "1".repeat(36),
        THIN = "ef02" + "2".repeat(36);
    static final String INDEX = """
        {"_class_name": "StableDiffusionPipeline", "safety_checker": [null, null], "requires_safety_checker": false,
         "scheduler": ["diffusers", "DDIMScheduler"], "unet": ["diffusers", "UNet2DConditionModel"]}""";

    @TempDir Path root;
    HubCache cache;
    Path repo;

    @BeforeEach
    void layout() throws IOException {
        cache = new HubCache(root);
        repo = root.resolve("models--org--m");
        snapshot(OLD, "old weights");
        snapshot(NEW, "new weights");
        snapshot(BROKEN, "broken weights");
        Files.delete(repo.resolve("blobs").resolve(blobName("broken weights")));   // its weights blob never arrived...
        Files.writeString(repo.resolve("blobs").resolve(blobName("broken weights") + ".incomplete"), "broken");   // ...it is half there
        snapshot(THIN, "thin weights");
        Files.delete(repo.resolve("snapshots").resolve(THIN).resolve("unet/diffusion_pytorch_model.safetensors"));   // never linked
        ref("main", NEW);
        ref("v1.0", OLD);
        ref("dev", BROKEN);
        ref("thin", THIN);
    }

    private void snapshot(String commit, String weights) throws IOException {
        Path snap = repo.resolve("snapshots").resolve(commit);
        link(snap, "model_index.json", INDEX);
        link(snap, "scheduler/scheduler_config.json", "{}");
        link(snap, "unet/config.json", "{}");
        link(snap, "unet/diffusion_pytorch_model.safetensors", weights);
    }

    private static String blobName(String content) { return FakeHub.gitSha1(content.getBytes(StandardCharsets.UTF_8)); }

    /** A snapshot file as huggingface_hub writes it: the content in blobs/, a relative link to it. */
    private void link(Path snap, String path, String content) throws IOException {
        Path blob = repo.resolve("blobs").resolve(blobName(content));
        Files.createDirectories(blob.getParent());
        Files.writeString(blob, content);
        Path l = snap.resolve(path);
        Files.createDirectories(l.getParent());
        Files.createSymbolicLink(l, l.getParent().relativize(blob));
    }

    private void ref(String name, String commit) throws IOException {
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve(name), commit);
    }

    private String weightsOf(String id) throws IOException {
        HubCache.Snapshot s = cache.snapshot(HubId.parse(id));
        assertEquals(repo.resolve("snapshots").resolve(s.commit()), s.dir());
        return Files.readString(s.dir().resolve("unet/diffusion_pytorch_model.safetensors"));
    }

    @Test
    void branchesTagsAndCommitsResolveToTheirSnapshots() throws IOException {
        assertEquals("new weights", weightsOf("org/m"));
        assertEquals("new weights", weightsOf("org/m@main"));
        assertEquals("old weights", weightsOf("org/m@v1.0"));
        assertEquals("old weights", weightsOf("org/m@" + OLD));
        assertEquals("old weights", weightsOf("org/m@abcd1"));
        assertEquals("new weights", weightsOf("org/m@abcd2222"));
    }

    @Test
    void whatIsNotCachedSaysToPullIt() {
        UserError e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/other")));
        assertTrue(e.getMessage().startsWith("org/other: ") && e.getMessage().contains("run 'stitch pull org/other'"), e.getMessage());
        e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@v2.0")));
        assertTrue(e.getMessage().contains("revision 'v2.0' is not in the Hugging Face cache") && e.getMessage().contains("main -> abcd22220000")
            && e.getMessage().contains("v1.0 -> abcd11110000") && e.getMessage().contains("run 'stitch pull org/m@v2.0'"), e.getMessage());
        e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@abcd")));
        assertTrue(e.getMessage().contains("more than one cached snapshot") && e.getMessage().contains(OLD) && e.getMessage().contains(NEW), e.getMessage());
        e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@abcd9")));
        assertTrue(e.getMessage().contains("revision 'abcd9' is not in"), e.getMessage());
    }

    @Test
    void anIncompleteDownloadIsNamed() throws IOException {
        UserError e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@dev")));
        assertTrue(e.getMessage().startsWith("org/m@dev: the download in ") && e.getMessage().contains("unet/diffusion_pytorch_model.safetensors (its blob)")
            && e.getMessage().contains("blobs/" + blobName("broken weights") + ".incomplete") && e.getMessage().endsWith("run 'stitch pull org/m@dev' to finish it"),
            e.getMessage());
        e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@thin")));
        assertTrue(e.getMessage().contains("missing unet/ weights"), e.getMessage());
        ref("started", "9".repeat(40));   // a pull that stopped before its first file
        e = assertThrows(UserError.class, () -> cache.snapshot(HubId.parse("org/m@started")));
        assertTrue(e.getMessage().contains("is incomplete (missing the snapshot folder)"), e.getMessage());
    }

    @Test
    void theCacheLocationFollowsHuggingfaceHub() {
        Map<String, String> env = Map.of("HF_HUB_CACHE", "/a/hub", "HUGGINGFACE_HUB_CACHE", "/b/hub", "HF_HOME", "/c", "XDG_CACHE_HOME", "/d", "HOME", "/e");
        assertEquals(Path.of("/a/hub"), HubCache.fromEnvironment(env::get).root);
        assertEquals(Path.of("/b/hub"), HubCache.fromEnvironment(without(env, "HF_HUB_CACHE")::get).root);
        assertEquals(Path.of("/c/hub"), HubCache.fromEnvironment(without(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")::get).root);
        assertEquals(Path.of("/d/huggingface/hub"), HubCache.fromEnvironment(without(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME")::get).root);
        assertEquals(Path.of("/e/.cache/huggingface/hub"), HubCache.fromEnvironment(Map.of("HOME", "/e")::get).root);
        assertEquals(Path.of("/e/my-cache"), HubCache.fromEnvironment(Map.of("HOME", "/e", "HF_HUB_CACHE", "~/my-cache")::get).root);
    }

    private static Map<String, String> without(Map<String, String> env, String... keys) {
        var m = new java.util.HashMap<>(env);
        for (String k : keys) m.remove(k);
        return m;
    }

    @Test
    void aPathOnDiskWinsOverAHubId() {
        // the tests run in the module folder, where src/main is a folder that also has the form org/name
        assertEquals(Path.of("src/main"), cache.locate("src/main"));
        assertEquals(repo.resolve("snapshots").resolve(NEW), cache.locate("org/m"));
        assertEquals(Path.of("no-such-folder"), cache.locate("no-such-folder"));   // not an id: left for the "no such folder" message
    }

    @Test
    void idsParse() {
        assertEquals(new HubId("stabilityai/sd-turbo", "main"), HubId.parse("stabilityai/sd-turbo"));
        assertEquals(new HubId("org/m", "refs/pr/1"), HubId.parse("org/m@refs/pr/1"));
        assertEquals("models--stabilityai--sd-turbo", HubId.parse("stabilityai/sd-turbo").folderName());
        for (String bad : new String[] {"sd-turbo", "a/b/c", "/abs/path", "org/..", "org/m@../../x", "org/m@"})
            assertThrows(UserError.class, () -> HubId.parse(bad), bad);
    }
}
