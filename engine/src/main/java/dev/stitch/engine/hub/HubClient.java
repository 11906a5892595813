package dev.stitch.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Downloads a diffusers model from the Hugging Face Hub into the {@link HubCache}, the way huggingface_hub 0.20.3's
 * {@code snapshot_download} / {@code hf_hub_download} do, so diffusers finds it there too: the file list from
 * {@code GET /api/models/REPO/revision/REV}, then per file a {@code HEAD /REPO/resolve/COMMIT/PATH} for its blob
 * name ({@code X-Linked-Etag} or {@code ETag}), size and location (LFS files redirect to a CDN, which gets no
 * token), and a {@code GET} into {@code blobs/ETAG.incomplete} that resumes with {@code Range} where an earlier
 * download stopped. Each file is checked against the hash the Hub publishes (sha256 for LFS files, the git blob
 * sha1 otherwise) before it is renamed into {@code blobs/} and linked from {@code snapshots/COMMIT/PATH}.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    /** Hears how far a pull has got, in bytes over all its files; {@code what} names the file being downloaded. */
    @FunctionalInterface
    public interface Progress {
        void update(String what, long done, long total);

        Progress NONE = (what, done, total) -> {};
    }

    private final HubCache cache;
    private final URI endpoint;
    private final String token;
    private final HttpClient http;
    /** How long a download may go without receiving a byte before it is given up (and can be resumed). */
    Duration readTimeout = Duration.ofSeconds(10);

    /** A client for {@code endpoint} (the Hub or a mirror) sending {@code token} (null: none) to it, never to a CDN. */
    public HubClient(HubCache cache, String endpoint, String token) {
        this.cache = cache;
        String e = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        try {
            this.endpoint = URI.create(e);
        } catch (IllegalArgumentException x) {
            throw new UserError("HF_ENDPOINT " + e + ": not a URL (" + x.getMessage() + ")");
        }
        if (this.endpoint.getScheme() == null || !this.endpoint.getScheme().matches("https?") || this.endpoint.getHost() == null)
            throw new UserError("HF_ENDPOINT " + e + ": expected an http(s) URL such as " + DEFAULT_ENDPOINT);
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(20)).build();
    }

    /**
     * The client huggingface_hub would make under {@code env}: the cache of {@link HubCache#fromEnvironment},
     * {@code HF_ENDPOINT} (default {@value #DEFAULT_ENDPOINT}), the token {@code HF_TOKEN}, else the one
     * {@code huggingface-cli login} saved in {@code HF_HOME/token}, the read timeout {@code HF_HUB_DOWNLOAD_TIMEOUT}
     * (seconds, default 10). {@code HF_HUB_OFFLINE=1} refuses to connect.
     */
    public static HubClient fromEnvironment(Function<String, String> env) {
        String offline = env.apply("HF_HUB_OFFLINE");
        if (offline != null && List.of("1", "ON", "YES", "TRUE").contains(offline.strip().toUpperCase(java.util.Locale.ROOT)))
            throw new UserError("HF_HUB_OFFLINE is set: downloading needs the network (models already in the cache open with --model org/name)");
        String endpoint = env.apply("HF_ENDPOINT");
        String token = env.apply("HF_TOKEN");
        if (token == null || token.isBlank()) {
            Path saved = HubCache.home(env).resolve("token");
            try {
                if (Files.isRegularFile(saved)) token = Files.readString(saved).strip();
            } catch (IOException e) {
                throw new UserError(saved + ": cannot read the saved Hub token (" + e.getMessage() + ")");
            }
        }
        HubClient c = new HubClient(HubCache.fromEnvironment(env), endpoint == null || endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint, token);
        String timeout = env.apply("HF_HUB_DOWNLOAD_TIMEOUT");
        if (timeout != null && !timeout.isBlank()) {
            if (!timeout.strip().matches("\\d{1,6}") || Integer.parseInt(timeout.strip()) == 0)
                throw new UserError("HF_HUB_DOWNLOAD_TIMEOUT " + timeout + ": expected a whole number of seconds, at least 1");
            c.readTimeout = Duration.ofSeconds(Integer.parseInt(timeout.strip()));
        }
        return c;
    }

    public HubCache cache() { return cache; }

    /** One file of the listing: its path, size and the hash its blob is named after (null where the listing had none). */
    record RemoteFile(String path, long size, String hash) {}

    /**
     * Downloads what a diffusers pipeline of {@code id} needs in {@code variant} (null: the default weights; see
     * {@link DiffusersFiles}), skipping files already in the cache and resuming interrupted ones; records the
     * branch or tag in {@code refs/}. Returns the complete snapshot.
     */
    public HubCache.Snapshot pull(HubId id, String variant, Progress progress) {
        try {
            JsonNode info = getJson(endpoint + "/api/models/" + id.repo() + "/revision/" + encode(id.revision()) + "?blobs=true", id, null);
            String commit = info.path("sha").asText("");
            if (!commit.matches("[0-9a-f]{40}")) throw new UserError(id + ": the Hub's answer names no commit (" + endpoint + ")");
            Map<String, RemoteFile> files = new LinkedHashMap<>();
            for (JsonNode s : info.path("siblings")) {
                String path = s.path("rfilename").asText();
                if (path.isEmpty() || path.startsWith("/") || path.contains("\\") || List.of(path.split("/")).contains(".."))
                    throw new UserError(id + ": the file list from " + endpoint + " names an unsafe path '" + path + "'; nothing was written for it");
                JsonNode lfs = s.path("lfs");
                String hash = lfs.isObject() ? lfs.path("sha256").asText(null) : s.path("blobId").asText(null);
                files.put(path, new RemoteFile(path, lfs.isObject() ? lfs.path("size").asLong(-1) : s.path("size").asLong(-1), hash));
            }
            if (!files.containsKey("model_index.json"))
                throw new UserError(id + ": no model_index.json in the repository (Stitch pulls diffusers pipelines)");
            Path repo = cache.repoFolder(id);
            if (!id.revision().equals(commit)) {
                // first, as huggingface_hub does: an interrupted pull is then found (and named) under its revision
                Path ref = repo.resolve("refs").resolve(id.revision());
                if (!Files.isRegularFile(ref) || !Files.readString(ref).equals(commit)) AtomicFiles.write(ref, commit.getBytes(StandardCharsets.UTF_8));
            }
            RemoteFile indexFile = files.get("model_index.json");
            Path index = download(id, repo, commit, indexFile, new long[1], 0, Progress.NONE);
            List<String> wanted = DiffusersFiles.select(id.repo(), files.keySet(), JsonFiles.readObject(index), variant);
            long total = wanted.stream().mapToLong(p -> Math.max(0, files.get(p).size())).sum();
            long[] done = {Math.max(0, indexFile.size())};
            for (String p : wanted) if (!p.equals("model_index.json")) download(id, repo, commit, files.get(p), done, total, progress);
            progress.update("done", total, total);
            return cache.snapshot(id.at(commit));
        } catch (IOException e) {
            throw new UserError(redact(id + ": " + e.getMessage()));
        }
    }

    /** One file into the cache (skipped when its snapshot link already leads to a blob); returns the snapshot path. */
    private Path download(HubId id, Path repo, String commit, RemoteFile file, long[] done, long total, Progress progress) throws IOException {
        Path link = repo.resolve("snapshots").resolve(commit).resolve(file.path());
        if (Files.exists(link)) {
            done[0] += Math.max(0, file.size());
            return link;
        }
        String url = endpoint + "/" + id.repo() + "/resolve/" + commit + "/" + encodePath(file.path());
        Head head = head(url, id, file.path());
        if (file.hash() != null && !file.hash().equals(head.etag()))
            throw new UserError(id + ": " + file.path() + ": the Hub's file list names blob " + file.hash() + " but the file is served as " + head.etag());
        long size = head.size() >= 0 ? head.size() : file.size();
        Path blob = repo.resolve("blobs").resolve(head.etag());
        Files.createDirectories(blob.getParent());
        Path lockFile = repo.getParent().resolve(".locks").resolve(repo.getFileName()).resolve(head.etag() + ".lock");
        Files.createDirectories(lockFile.getParent());
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockChannel.lock()) {
            if (!Files.exists(blob)) fetchBlob(id, file.path(), head, size, blob, done, total, progress);
            else done[0] += Math.max(0, size);
            linkTo(link, blob);
        }
        return link;
    }

    private void fetchBlob(HubId id, String path, Head head, long size, Path blob, long[] done, long total, Progress progress) throws IOException {
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
        if (size >= 0 && have > size) {
            Files.delete(partial);
            have = 0;
        }
        long start = done[0];
        if (size < 0 || have < size) {
            // the token goes to the Hub only; a CDN location is signed and must not see it (as huggingface_hub)
            HttpResponse<InputStream> r = send(head.location(), "GET", head.location().equals(head.url()), have, id, path);
            boolean appending = have > 0 && r.statusCode() == 206;
            if (!appending) have = 0;   // the server ignored the Range: start over
            try (InputStream in = r.body();
                 FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                if (!appending) out.truncate(0);
                out.position(have);
                long got = have;
                progress.update(path, start + got, total);
                Chunks chunks = new Chunks(in, readTimeout);
                for (byte[] b; (b = chunks.next()) != null; ) {
                    out.write(ByteBuffer.wrap(b));
                    got += b.length;
                    progress.update(path, start + got, total);
                }
                have = got;
            } catch (IOException e) {
                throw new UserError(redact(id + ": the download of " + path + " stopped after " + mb(Files.isRegularFile(partial) ? Files.size(partial) : 0)
                    + " of " + mb(size) + " (" + reason(e) + "); run the same 'stitch pull' again to resume it"));
            }
        }
        if (size >= 0 && have != size) {
            throw new UserError(id + ": the download of " + path + " ended after " + mb(have) + " of " + mb(size)
                + "; run the same 'stitch pull' again to resume it");
        }
        String actual = hashOf(partial, head.etag());
        if (actual != null && !actual.equals(head.etag())) {
            Files.delete(partial);   // wrong bytes cannot be resumed: start afresh next time
            throw new UserError(id + ": " + path + ": the downloaded file does not match the hash the Hub publishes (expected "
                + head.etag() + ", got " + actual + "); it was removed, run 'stitch pull' again");
        }
        Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);
        done[0] = start + have;
    }

    /**
     * The bytes of a response body, read on another thread so that a connection that stops sending is given up
     * after {@code timeout} (huggingface_hub's read timeout, {@code HF_HUB_DOWNLOAD_TIMEOUT}), not waited on forever.
     */
    private static final class Chunks {
        private static final byte[] END = new byte[0];
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(16);
        private final InputStream in;
        private final Duration timeout;

        Chunks(InputStream in, Duration timeout) {
            this.in = in;
            this.timeout = timeout;
            Thread.ofVirtual().start(() -> {
                try {
                    for (int n; ; ) {
                        byte[] buf = new byte[1 << 16];
                        if ((n = in.read(buf)) < 0) break;
                        queue.put(n == buf.length ? buf : java.util.Arrays.copyOf(buf, n));
                    }
                    queue.put(END);
                } catch (IOException e) {
                    queue.offer(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        /** The next bytes, or null at the end; an {@link IOException} when the connection failed or went quiet. */
        byte[] next() throws IOException {
            Object o;
            try {
                o = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            if (o == null) {
                in.close();
                throw new IOException("no data for " + timeout.toSeconds() + " s");
            }
            if (o instanceof IOException e) throw e;
            return o == END ? null : (byte[]) o;
        }
    }

    /** The snapshot file as a relative link into blobs/ (as huggingface_hub makes it), put in place atomically. */
    private static void linkTo(Path link, Path blob) throws IOException {
        Files.createDirectories(link.getParent());
        Path tmp = AtomicFiles.tempBeside(link, ".link");
        Files.delete(tmp);
        Files.createSymbolicLink(tmp, link.getParent().relativize(blob));
        Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The hash {@code etag} is of {@code file}'s content: sha256 (64 hex digits, LFS files) or git's blob sha1
     * ({@code sha1("blob SIZE\0" + content)}, 40 hex digits); null when the ETag is neither, and cannot be checked.
     */
    static String hashOf(Path file, String etag) throws IOException {
        MessageDigest md;
        try {
            if (etag.matches("[0-9a-f]{64}")) md = MessageDigest.getInstance("SHA-256");
            else if (etag.matches("[0-9a-f]{40}")) {
                md = MessageDigest.getInstance("SHA-1");
                md.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
            } else return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** What a HEAD on a resolve URL tells: the blob name, the size, and where the bytes are. */
    record Head(String url, String etag, long size, String location) {}

    private Head head(String url, HubId id, String path) throws IOException {
        for (int hops = 0; hops < 10; hops++) {
            HttpResponse<InputStream> r = request(url, "HEAD", true, -1);
            r.body().close();
            int code = r.statusCode();
            String location = r.headers().firstValue("Location").orElse(null);
            if (code / 100 == 3 && location != null && location.startsWith("/")) {
                url = endpoint.resolve(location).toString();   // a renamed repo: follow relative redirects only, as huggingface_hub
                continue;
            }
            if (code / 100 != 2 && code / 100 != 3) throw failure(r, id, path);
            String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).orElse(null);
            if (etag == null) throw new UserError(id + ": " + path + ": the server sent no ETag, so the file cannot be checked (" + endpoint + ")");
            etag = etag.startsWith("W/") ? etag.substring(2) : etag;
            etag = etag.replace("\"", "");
            if (!etag.matches("[A-Za-z0-9_-][A-Za-z0-9._-]*")) throw new UserError(id + ": " + path + ": unexpected ETag '" + etag + "'");
            long size = r.headers().firstValue("X-Linked-Size").or(() -> r.headers().firstValue("Content-Length"))
                .filter(v -> v.matches("\\d{1,18}")).map(Long::parseLong).orElse(-1L);
            return new Head(url, etag, size, code / 100 == 3 && location != null ? location : url);
        }
        throw new UserError(id + ": " + path + ": too many redirects at " + endpoint);
    }

    /** A GET (with {@code Range} from {@code from} > 0) that follows redirects, dropping the token when they leave the Hub. */
    private HttpResponse<InputStream> send(String url, String method, boolean withToken, long from, HubId id, String path) throws IOException {
        for (int hops = 0; hops < 10; hops++) {
            HttpResponse<InputStream> r = request(url, method, withToken, from);
            int code = r.statusCode();
            if (code == 200 || code == 206) return r;
            r.body().close();
            String location = r.headers().firstValue("Location").orElse(null);
            if (code / 100 == 3 && location != null) {
                URI next = URI.create(url).resolve(location);
                withToken &= sameOrigin(next, endpoint);
                url = next.toString();
                continue;
            }
            if (code == 416 && from > 0) return send(url, method, withToken, 0, id, path);
            throw failure(r, id, path);
        }
        throw new UserError(id + ": " + path + ": too many redirects at " + endpoint);
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    private HttpResponse<InputStream> request(String url, String method, boolean withToken, long from) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
            .header("User-Agent", "stitch/0.1.0").header("Accept-Encoding", "identity").method(method, HttpRequest.BodyPublishers.noBody());
        if (withToken && token != null) b.header("Authorization", "Bearer " + token);
        if (from > 0) b.header("Range", "bytes=" + from + "-");
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (ConnectException | HttpConnectTimeoutException | UnresolvedAddressException e) {
            throw new UserError(redact("cannot reach " + URI.create(url).getHost() + " (" + reason(e) + "): downloading needs the network;"
                + " check the connection (or HF_ENDPOINT); models already in the cache open offline with --model org/name"));
        } catch (HttpTimeoutException e) {
            throw new UserError(redact(url + ": no answer in time (" + reason(e) + "); try again later"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private JsonNode getJson(String url, HubId id, String path) throws IOException {
        HttpResponse<InputStream> r = send(url, "GET", true, 0, id, path);
        try (InputStream in = r.body()) {
            return new ObjectMapper().readTree(in);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new UserError(id + ": the answer from " + endpoint + " is not JSON (" + e.getOriginalMessage() + ")");
        }
    }

    /** The Hub's error codes (header {@code X-Error-Code}) and statuses told as what to do. */
    private UserError failure(HttpResponse<InputStream> r, HubId id, String path) {
        int code = r.statusCode();
        String err = r.headers().firstValue("X-Error-Code").orElse("");
        String what = path == null ? id.toString() : id + ": " + path;
        String tokenHint = token == null ? "set HF_TOKEN to a token that has access" : "the token in HF_TOKEN has no access to it";
        String message = switch (err) {
            case "GatedRepo" -> id.repo() + " is gated: accept its conditions on its page at " + endpoint + "/" + id.repo() + ", then " + tokenHint;
            case "RevisionNotFound" -> id.repo() + ": no revision '" + id.revision() + "' at " + endpoint;
            case "EntryNotFound" -> what + ": no such file at " + endpoint;
            case "RepoNotFound" -> id.repo() + ": no such model at " + endpoint + " (or it is private or gated: " + tokenHint + ")";
            default -> switch (code) {
                case 401, 403 -> what + ": access refused by " + endpoint + " (HTTP " + code + "); the model may be private or gated: " + tokenHint;
                case 404 -> what + ": not found at " + endpoint + " (HTTP 404)";
                default -> what + ": " + endpoint + " answered HTTP " + code + (code >= 500 ? "; try again later" : "");
            };
        };
        return new UserError(redact(message));
    }

    /** A message with the token blanked out, whatever put it there. */
    String redact(String message) { return token == null ? message : message.replace(token, "hf_***"); }

    private static String reason(Exception e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) t = t.getCause();
        if (t instanceof UnresolvedAddressException || t instanceof java.net.UnknownHostException) return "unknown host";
        if (t instanceof ConnectException) return "connection refused";
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private static String mb(long bytes) { return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1048576.0); }

    /** A revision as one URL path segment (huggingface_hub quotes it with {@code safe=''}: {@code refs/pr/1} -> {@code refs%2Fpr%2F1}). */
    private static String encode(String s) { return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20"); }

    /** A file path in a URL: each segment quoted, the slashes kept. */
    private static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String seg : path.split("/", -1)) b.append(b.isEmpty() ? "" : "/").append(encode(seg));
        return b.toString();
    }
}
