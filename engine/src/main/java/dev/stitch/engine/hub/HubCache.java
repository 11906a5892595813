package dev.stitch.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.io.JsonFiles;
import dev.stitch.engine.io.WeightFiles;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The local Hugging Face cache, laid out as huggingface_hub 0.20.3 writes it (and diffusers reads it):
 * <pre>
 * ROOT/models--org--name/refs/BRANCH-OR-TAG        the commit hash it points at
 *                       /snapshots/COMMIT/PATH      links into blobs/
 *                       /blobs/ETAG                 file contents (ETAG: sha256 for LFS files, git blob sha1 else)
 *                       /blobs/ETAG.incomplete      a download under way or interrupted
 * </pre>
 * {@link #snapshot} turns {@code org/name[@revision]} into a snapshot folder that loads like any diffusers folder,
 * refusing an incomplete one by name.
 */
public final class HubCache {
    public final Path root;

    public HubCache(Path root) { this.root = root; }

    /**
     * The cache huggingface_hub uses under {@code env}: {@code HF_HUB_CACHE}, else the older {@code HUGGINGFACE_HUB_CACHE},
     * else {@code HF_HOME/hub}, else {@code XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}.
     */
    public static HubCache fromEnvironment(Function<String, String> env) {
        for (String v : new String[] {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"})
            if (set(env, v)) return new HubCache(expand(env, env.apply(v)));
        return new HubCache(home(env).resolve("hub"));
    }

    /** {@code HF_HOME}, else {@code XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface} (where the login token lives too). */
    static Path home(Function<String, String> env) {
        if (set(env, "HF_HOME")) return expand(env, env.apply("HF_HOME"));
        Path cache = set(env, "XDG_CACHE_HOME") ? expand(env, env.apply("XDG_CACHE_HOME")) : userHome(env).resolve(".cache");
        return cache.resolve("huggingface");
    }

    private static boolean set(Function<String, String> env, String name) {
        String v = env.apply(name);
        return v != null && !v.isEmpty();
    }

    private static Path userHome(Function<String, String> env) {
        return Path.of(set(env, "HOME") ? env.apply("HOME") : System.getProperty("user.home"));
    }

    /** A leading {@code ~} is the home folder, as Python's {@code os.path.expanduser}. */
    private static Path expand(Function<String, String> env, String path) {
        if (path.equals("~")) return userHome(env);
        if (path.startsWith("~/")) return userHome(env).resolve(path.substring(2));
        return Path.of(path);
    }

    /**
     * What a {@code --model} value names: {@code text} itself when it exists on disk (a path wins over a Hub id);
     * else, when it has the form {@code org/name[@revision]}, that model's snapshot folder in this cache (a
     * {@link UserError} saying to pull it when it is not there); else the path, for the caller's usual "no such
     * folder" message.
     */
    public Path locate(String text) {
        Path p = Path.of(text);
        if (Files.exists(p) || p.isAbsolute() || !HubId.looksLike(text)) return p;
        return snapshot(HubId.parse(text)).dir();
    }

    /** The folder of {@code repo} in this cache (which may not exist). */
    public Path repoFolder(HubId id) { return root.resolve(id.folderName()); }

    /** A resolved revision: the commit and its snapshot folder. */
    public record Snapshot(HubId id, String commit, Path dir) {}

    /**
     * The snapshot {@code id} names: {@code refs/REVISION} gives the commit of a branch or tag; a commit hash (full,
     * or a prefix that only one cached snapshot starts with) names a snapshot directly. A model or revision not in
     * the cache, or a snapshot that lacks files, is a {@link UserError} saying to run {@code stitch pull}.
     */
    public Snapshot snapshot(HubId id) {
        Path repo = repoFolder(id);
        String pull = "run 'stitch pull " + id + "' to download it";
        if (!Files.isDirectory(repo))
            throw new UserError(id.repo() + ": not a folder here, and not in the Hugging Face cache " + root + " (HF_HUB_CACHE, HF_HOME); " + pull);
        String commit = commitOf(repo, id.revision());
        if (commit == null)
            throw new UserError(id + ": revision '" + id.revision() + "' is not in the Hugging Face cache " + repo + " (cached: " + cached(repo) + "); " + pull);
        Path dir = repo.resolve("snapshots").resolve(commit);
        Snapshot s = new Snapshot(id, commit, dir);
        List<String> missing = missingFiles(dir);
        if (!missing.isEmpty()) {
            List<String> partial = incompleteBlobs(repo);
            throw new UserError(id + ": the download in " + dir + " is incomplete (missing " + String.join(", ", missing) + ")"
                + (partial.isEmpty() ? "" : "; interrupted: " + String.join(", ", partial))
                + "; run 'stitch pull " + id + "' to finish it");
        }
        return s;
    }

    /** The commit {@code revision} stands for in {@code repo}, or null if the cache does not know it. */
    static String commitOf(Path repo, String revision) {
        Path ref = repo.resolve("refs").resolve(revision).normalize();
        if (ref.startsWith(repo.resolve("refs")) && Files.isRegularFile(ref)) {
            try {
                return Files.readString(ref).strip();
            } catch (IOException e) {
                throw new UserError(ref + ": cannot read (" + e.getMessage() + ")");
            }
        }
        if (!revision.matches("[0-9a-f]{4,40}")) return null;
        List<String> matches = snapshots(repo).stream().filter(c -> c.startsWith(revision)).toList();
        if (matches.size() > 1)
            throw new UserError(revision + ": more than one cached snapshot of " + repo.getFileName() + " starts with it ("
                + String.join(", ", matches) + "); give more of the commit hash");
        return matches.isEmpty() ? null : matches.getFirst();
    }

    private static List<String> snapshots(Path repo) {
        Path dir = repo.resolve("snapshots");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UserError(dir + ": cannot list (" + e.getMessage() + ")");
        }
    }

    /** What the cache holds of a repo, for messages: each ref with its commit, and the snapshots. */
    private static String cached(Path repo) {
        List<String> parts = new ArrayList<>();
        Path refs = repo.resolve("refs");
        if (Files.isDirectory(refs)) try (Stream<Path> s = Files.walk(refs)) {
            for (Path r : s.filter(Files::isRegularFile).sorted().toList())
                parts.add(refs.relativize(r).toString().replace('\\', '/') + " -> " + abbrev(Files.readString(r).strip()));
        } catch (IOException e) {
            throw new UserError(refs + ": cannot read (" + e.getMessage() + ")");
        }
        for (String c : snapshots(repo)) parts.add("snapshot " + abbrev(c));
        return parts.isEmpty() ? "nothing" : String.join(", ", parts);
    }

    private static String abbrev(String commit) { return commit.length() > 12 ? commit.substring(0, 12) : commit; }

    /**
     * What a snapshot lacks to load: {@code model_index.json}, a component folder it lists, a model component's
     * weights, or any file whose link leads to a missing blob. Empty when it is complete.
     */
    static List<String> missingFiles(Path dir) {
        if (!Files.isDirectory(dir)) return List.of("the snapshot folder");
        List<String> missing = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Iterator<Path> it = s.iterator(); it.hasNext(); ) {
                Path p = it.next();
                if (Files.isSymbolicLink(p) && !Files.exists(p)) missing.add(dir.relativize(p).toString().replace('\\', '/') + " (its blob)");
            }
        } catch (IOException e) {
            throw new UserError(dir + ": cannot list (" + e.getMessage() + ")");
        }
        if (!missing.isEmpty()) return missing;
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) return List.of("model_index.json");
        JsonNode root = JsonFiles.readObject(index);
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            JsonNode v = e.getValue();
            if (e.getKey().startsWith("_") || !v.isArray() || v.size() != 2 || !v.get(0).isTextual() || !v.get(1).isTextual()) continue;
            Path part = dir.resolve(e.getKey());
            if (!Files.isDirectory(part)) missing.add(e.getKey() + "/");
            else if (Files.isRegularFile(part.resolve("config.json"))) {
                try (Stream<Path> files = Files.list(part)) {
                    if (WeightFiles.candidates(files.map(f -> f.getFileName().toString()).toList()).isEmpty())
                        missing.add(e.getKey() + "/ weights");
                } catch (IOException x) {
                    throw new UserError(part + ": cannot list (" + x.getMessage() + ")");
                }
            }
        }
        return missing;
    }

    /** Blobs whose download was interrupted ({@code blobs/*.incomplete}), with the bytes they hold. */
    static List<String> incompleteBlobs(Path repo) {
        Path blobs = repo.resolve("blobs");
        if (!Files.isDirectory(blobs)) return List.of();
        try (Stream<Path> s = Files.list(blobs)) {
            List<String> out = new ArrayList<>();
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".incomplete")).sorted().toList())
                out.add("blobs/" + p.getFileName() + String.format(Locale.ROOT, " (%.1f MB)", Files.size(p) / 1048576.0));
            return out;
        } catch (IOException e) {
            throw new UserError(blobs + ": cannot list (" + e.getMessage() + ")");
        }
    }
}
