package dev.stitch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.kernels.Tensor;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static dev.stitch.cli.TapsCommandTest.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code stitch pull} and {@code --model org/name} as a user runs them, against a loopback server with the Hub's file
 * API (the library's own tests cover LFS redirects, resume, hashes and tokens in detail).
 */
class PullCommandTest {
    static final String COMMIT = "c0ffee00" + "2".repeat(32);

    @AfterEach
    void restoreEnvironment() { Models.environment = System::getenv; }

    /** Serves the tiny model's files as the Hub serves small files: the listing, and resolve with a git-sha1 ETag. */
    static HttpServer hub(String repo, Map<String, byte[]> files) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", x -> {
            try (x) {
                String path = x.getRequestURI().getPath();
                x.getResponseHeaders().set("X-Repo-Commit", COMMIT);
                if (path.equals("/api/models/" + repo + "/revision/main")) {
                    ObjectNode root = new ObjectMapper().createObjectNode().put("sha", COMMIT);
                    var sib = root.putArray("siblings");
                    files.forEach((f, b) -> sib.addObject().put("rfilename", f).put("size", b.length).put("blobId", gitSha1(b)));
                    send(x, 200, new ObjectMapper().writeValueAsBytes(root));
                } else if (path.startsWith("/" + repo + "/resolve/" + COMMIT + "/") && files.containsKey(path.substring(repo.length() + 51))) {
                    byte[] b = files.get(path.substring(repo.length() + 51));
                    x.getResponseHeaders().set("ETag", "\"" + gitSha1(b) + "\"");
                    send(x, 200, b);
                } else {
                    x.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                    send(x, 401, new byte[0]);
                }
            }
        });
        server.start();
        return server;
    }

    private static void send(HttpExchange x, int code, byte[] body) throws IOException {
        if (x.getRequestMethod().equals("HEAD")) {
            x.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(code, -1);
        } else {
            x.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
            x.getResponseBody().write(body);
        }
    }

    static String gitSha1(byte[] b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aPulledModelOpensByItsHubId(@TempDir Path cache) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        Path tiny = TinyModel.get();
        try (Stream<Path> s = Files.walk(tiny)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) files.put(tiny.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
        }
        HttpServer server = hub("stitch-test/tiny", files);
        try {
            String endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
            Models.environment = Map.of("HF_HOME", cache.toString(), "HF_HUB_CACHE", cache.toString(), "HF_ENDPOINT", endpoint)::get;

            assertOneLineError(CliRunner.run("taps", "--model", "stitch-test/tiny"), "stitch-test/tiny: not a folder here, and not in the Hugging Face cache",
                "run 'stitch pull stitch-test/tiny' to download it");

            CliRunner.Result pull = CliRunner.run("pull", "stitch-test/tiny");
            assertEquals(0, pull.code(), pull.err());
            Path snapshot = cache.resolve("models--stitch-test--tiny/snapshots").resolve(COMMIT);
            assertEquals(snapshot.toString(), pull.out().strip());
            assertTrue(pull.err().contains("stitch: stitch-test/tiny is at commit " + COMMIT) && pull.err().contains("open it with --model stitch-test/tiny"), pull.err());

            CliRunner.Result taps = CliRunner.run("taps", "--model", "stitch-test/tiny");
            assertEquals(0, taps.code(), taps.err());
            assertEquals(CliRunner.run("taps", "--model", tiny.toString()).out(), taps.out());
            assertTrue(taps.err().contains("stitch: stitch-test/tiny: " + snapshot + " (Hugging Face cache)"), taps.err());

            CliRunner.Result gen = CliRunner.run("generate", "--model", "stitch-test/tiny@" + COMMIT.substring(0, 8), "--prompt", "a red cube", "--steps", "1",
                "--seed", "1", "--device", "cpu", "--out", cache.resolve("out.png").toString());
            assertEquals(0, gen.code(), gen.err());
            assertTrue(Files.size(cache.resolve("out.png")) > 0);

            assertOneLineError(CliRunner.run("taps", "--model", "stitch-test/tiny", "--variant", "fp16"),
                "stitch-test/tiny: the cached snapshot has no fp16 weights; run 'stitch pull stitch-test/tiny --variant fp16'");
            assertOneLineError(CliRunner.run("pull", "stitch-test/other"), "stitch-test/other: no such model at " + endpoint);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void withoutNetworkPullSaysWhatToDo(@TempDir Path cache) throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Models.environment = Map.of("HF_HOME", cache.toString(), "HF_HUB_CACHE", cache.toString(), "HF_ENDPOINT", "http://127.0.0.1:" + port)::get;
        assertOneLineError(CliRunner.run("pull", "stitch-test/tiny"), "cannot reach 127.0.0.1", "downloading needs the network");
        assertOneLineError(CliRunner.run("pull", "not-an-id"), "not-an-id: not a Hub model id");
        // every command that takes --model reads a Hub id from the cache (eval opens it as generate does, after its metric checks)
        new SafeTensorsWriter().add("sample", Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f}, 1, 4, 1, 1)).add("timestep", Tensor.of(new float[] {10}, 1))
            .add("encoder_hidden_states", Tensor.of(new float[] {0.1f, 0.2f}, 1, 1, 2)).write(cache.resolve("i.safetensors"));
        Files.writeString(cache.resolve("p.jsonl"), "{\"positive\": \"a cat, winter\", \"negative\": \"a cat\"}\n");
        for (String args : List.of("generate --prompt x --out @o.png", "trace --prompt x --taps unet.mid_block --out @t.safetensors",
                "extract --pairs @p.jsonl --taps unet.mid_block --out @v.safetensors", "layers --pairs @p.jsonl --taps unet.mid_block",
                "sweep --prompt x --steer @v.safetensors --out @sweep.png", "taps", "demo --out @demo",
                "ablate --steer @v.safetensors --out @ablated", "unet-forward --inputs @i.safetensors")) {
            List<String> a = new ArrayList<>(List.of(args.replace("@", cache + "/").split(" ")));
            a.addAll(1, List.of("--model", "stitch-test/absent"));
            CliRunner.Result r = CliRunner.run(a.toArray(String[]::new));
            assertTrue(r.err().contains("run 'stitch pull stitch-test/absent'"), args + ": " + r.err());
        }
    }
}
