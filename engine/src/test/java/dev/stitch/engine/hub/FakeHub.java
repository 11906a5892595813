package dev.stitch.engine.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;

/**
 * A loopback server that answers like the Hugging Face Hub's file API for one repository: the model info listing
 * ({@code /api/models/REPO/revision/REV?blobs=true}), {@code /REPO/resolve/REV/PATH} with the Hub's headers
 * ({@code X-Repo-Commit}; {@code ETag} = git blob sha1 for small files, served directly; a 302 to a signed CDN URL
 * with {@code X-Linked-Etag} = sha256 and {@code X-Linked-Size} for LFS files), a CDN that honours {@code Range},
 * the Hub's error codes, and a gated mode that wants a token. Faults can be injected per file.
 */
final class FakeHub implements AutoCloseable {
    record Request(String method, String path, String authorization, String range) {}

    final String repo, commit;
    final Map<String, byte[]> files;
    final Map<String, String> tags = new LinkedHashMap<>();
    final Set<String> lfs = new HashSet<>();
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    /** Files whose next CDN download stops halfway (the connection drops). */
    final Set<String> cutOnce = Collections.synchronizedSet(new HashSet<>());
    /** Files whose next CDN download sends half and then nothing more for a while (a connection gone quiet). */
    final Set<String> stallOnce = Collections.synchronizedSet(new HashSet<>());
    /** Files whose bytes are served with one byte flipped. */
    final Set<String> corrupt = Collections.synchronizedSet(new HashSet<>());
    /** When set, the repository is gated: resolving a file needs this token. */
    String gatedToken;
    private final HttpServer server;

    FakeHub(String repo, String commit, Map<String, byte[]> files) throws IOException {
        this.repo = repo;
        this.commit = commit;
        this.files = files;
        for (String f : files.keySet()) if (f.endsWith(".safetensors") || f.endsWith(".bin") || f.endsWith(".msgpack") || f.endsWith(".ckpt")) lfs.add(f);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    String endpoint() { return "http://127.0.0.1:" + server.getAddress().getPort(); }

    @Override
    public void close() { server.stop(0); }

    private String revisionCommit(String rev) {
        if (rev.equals("main") || rev.equals(commit)) return commit;
        return tags.containsKey(rev) ? commit : null;
    }

    private void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getRawPath(), method = x.getRequestMethod();
        requests.add(new Request(method, path, x.getRequestHeaders().getFirst("Authorization"), x.getRequestHeaders().getFirst("Range")));
        try (x) {
            String api = "/api/models/" + repo + "/revision/";
            String resolve = "/" + repo + "/resolve/";
            if (path.startsWith(api)) listing(x, java.net.URLDecoder.decode(path.substring(api.length()), StandardCharsets.UTF_8));
            else if (path.startsWith(resolve)) resolve(x, path.substring(resolve.length()));
            else if (path.startsWith("/cdn/")) cdn(x, path.substring(5));
            else if (path.startsWith("/api/models/") || path.contains("/resolve/")) error(x, 401, "RepoNotFound");   // the Hub's answer to an unknown repo
            else error(x, 404, null);
        }
    }

    private void listing(HttpExchange x, String rev) throws IOException {
        if (revisionCommit(rev) == null) {
            error(x, 404, "RevisionNotFound");
            return;
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode().put("id", repo).put("sha", commit).put("private", false).put("gated", gatedToken != null)
            .put("downloads", 0).put("likes", 0).put("library_name", "diffusers");
        root.putArray("tags").add("diffusers");
        ArrayNode sib = root.putArray("siblings");
        for (var e : files.entrySet()) {
            ObjectNode s = sib.addObject().put("rfilename", e.getKey()).put("blobId", gitSha1(e.getValue())).put("size", e.getValue().length);
            if (lfs.contains(e.getKey())) s.putObject("lfs").put("sha256", sha256(e.getValue())).put("size", e.getValue().length).put("pointerSize", 134);
        }
        send(x, 200, om.writeValueAsBytes(root), Map.of("Content-Type", "application/json"));
    }

    private void resolve(HttpExchange x, String revAndPath) throws IOException {
        int slash = revAndPath.indexOf('/');
        String rev = revAndPath.substring(0, slash), file = java.net.URLDecoder.decode(revAndPath.substring(slash + 1), StandardCharsets.UTF_8);
        if (gatedToken != null && !("Bearer " + gatedToken).equals(x.getRequestHeaders().getFirst("Authorization"))) {
            error(x, 401, "GatedRepo");
            return;
        }
        if (revisionCommit(rev) == null) {
            error(x, 404, "RevisionNotFound");
            return;
        }
        byte[] data = files.get(file);
        x.getResponseHeaders().set("X-Repo-Commit", commit);
        if (data == null) {
            error(x, 404, "EntryNotFound");
            return;
        }
        if (lfs.contains(file)) {
            String sha = sha256(data);
            x.getResponseHeaders().set("ETag", "\"" + gitSha1(("pointer " + sha).getBytes(StandardCharsets.UTF_8)) + "\"");
            x.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
            x.getResponseHeaders().set("X-Linked-Size", Long.toString(data.length));
            x.getResponseHeaders().set("Location", endpoint() + "/cdn/" + sha + "?file=" + file.replace('/', '_') + "&signature=s3cr3t");
            x.sendResponseHeaders(302, -1);
            return;
        }
        x.getResponseHeaders().set("ETag", "\"" + gitSha1(data) + "\"");
        send(x, 200, corrupt.contains(file) ? flipped(data) : data, Map.of());
    }

    private void cdn(HttpExchange x, String sha) throws IOException {
        String file = files.entrySet().stream().filter(e -> sha256(e.getValue()).equals(sha)).map(Map.Entry::getKey).findFirst().orElse(null);
        if (file == null || !x.getRequestURI().getRawQuery().contains("signature=s3cr3t")) {
            error(x, 403, null);
            return;
        }
        byte[] data = corrupt.contains(file) ? flipped(files.get(file)) : files.get(file);
        String range = x.getRequestHeaders().getFirst("Range");
        int from = 0;
        if (range != null) {
            from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
            if (from >= data.length) {
                error(x, 416, null);
                return;
            }
            x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        int code = range != null ? 206 : 200, length = data.length - from;
        if (x.getRequestMethod().equals("HEAD")) {
            x.sendResponseHeaders(code, -1);
            return;
        }
        x.sendResponseHeaders(code, length);
        OutputStream out = x.getResponseBody();
        if (cutOnce.remove(file)) {
            out.write(data, from, length / 2);
            out.flush();
            throw new IOException("connection dropped on purpose");   // the server closes the connection mid-body
        }
        if (stallOnce.remove(file)) {
            out.write(data, from, length / 2);
            out.flush();
            try {
                Thread.sleep(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("gave up on purpose");
        }
        out.write(data, from, length);
    }

    private static void error(HttpExchange x, int code, String errorCode) throws IOException {
        if (errorCode != null) x.getResponseHeaders().set("X-Error-Code", errorCode);
        send(x, code, ("{\"error\":\"" + (errorCode == null ? "error" : errorCode) + "\"}").getBytes(StandardCharsets.UTF_8), Map.of());
    }

    private static void send(HttpExchange x, int code, byte[] body, Map<String, String> headers) throws IOException {
        headers.forEach((k, v) -> x.getResponseHeaders().set(k, v));
        if (x.getRequestMethod().equals("HEAD")) {
            x.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(code, -1);
            return;
        }
        x.sendResponseHeaders(code, body.length);
        x.getResponseBody().write(body);
    }

    static byte[] flipped(byte[] data) {
        byte[] b = data.clone();
        b[b.length / 2] ^= 1;
        return b;
    }

    static String sha256(byte[] data) { return hex("SHA-256", new byte[0], data); }

    static String gitSha1(byte[] data) { return hex("SHA-1", ("blob " + data.length + "\0").getBytes(StandardCharsets.US_ASCII), data); }

    private static String hex(String algorithm, byte[] prefix, byte[] data) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            md.update(prefix);
            return HexFormat.of().formatHex(md.digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
