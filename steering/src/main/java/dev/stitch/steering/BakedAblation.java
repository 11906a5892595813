package dev.stitch.steering;

import dev.stitch.engine.io.AtomicFiles;
import dev.stitch.engine.io.OutputPaths;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.io.SafeTensorsWriter;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Directional ablation baked into the weights (Arditi et al. 2024, "Refusal in language models is mediated by a
 * single direction"): every weight that writes a tap's value is orthogonalised against the unit direction r,
 * {@code W ← W − α·r·rᵀW} on the output-channel axis, biases too, so the new model computes at that tap what the
 * {@code ablate} operator makes at run time, {@code x − α(x·r)r}, at every step and for both CFG halves.
 * <p>
 * That is exact only where the tap's value is the output of a linear map: a Linear or convolution (attention's
 * {@code to_out.0}, a feed-forward's {@code net.2}, {@code proj_in}/{@code proj_out}, {@code conv_in}/{@code conv_out},
 * a down- or upsampler's {@code conv}, the time embedding's {@code linear_2}, the text encoder's {@code out_proj} and
 * {@code fc2}) or the text embeddings (token plus position table, both projected). A resnet's, a transformer's or an
 * encoder layer's output adds a residual the weights cannot reach, and a norm's output is scaled per channel, so such
 * taps are refused with the list of taps that can be baked. A block whose output is its downsampler's or upsampler's
 * (the same tensor, see {@link TapCatalog.Entry#aliasOf}) is baked there.
 */
public final class BakedAblation {
    private BakedAblation() {}

    /** The components whose taps can be baked (the VAE's attention adds its residual inside the module). */
    private static final List<String> COMPONENTS = List.of("text_encoder", "unet");

    /**
     * Where a tap's value is computed: in {@code component}'s weight files, the weights whose output channels are the
     * tap's channels ({@code [C, ...]}, or {@code [rows, C]} for embedding tables) and the biases ({@code [C]}).
     */
    public record Site(String tap, String component, List<String> weights, List<String> biases, boolean channelsLast) {}

    /** What {@link #bake} wrote: the new folder, the taps baked, and the tensors changed per component. */
    public record Result(Path out, List<String> taps, Map<String, List<String>> tensors) {}

    /** The site of {@code tap} in the model at {@code model}, or null when its value is not a linear map's output. */
    public static Site site(Path model, TapCatalog catalog, String tap) { return site(catalog, tap, headers(model)); }

    /** Each component's tensor headers, read once per call of the public methods (a model has hundreds of taps). */
    private static Function<String, Map<String, SafeTensors.Entry>> headers(Path model) {
        Map<String, Map<String, SafeTensors.Entry>> read = new HashMap<>();
        return component -> read.computeIfAbsent(component, c -> weights(model.resolve(c)).getFirst().entries());
    }

    private static Site site(TapCatalog catalog, String tap, Function<String, Map<String, SafeTensors.Entry>> headers) {
        TapCatalog.Entry e = catalog.entry(tap);
        if (e == null) return null;
        String root = e.aliasOf() != null ? e.aliasOf() : tap;
        int dot = root.indexOf('.');
        if (dot < 0 || !COMPONENTS.contains(root.substring(0, dot))) return null;
        String component = root.substring(0, dot), path = root.substring(dot + 1);
        Map<String, SafeTensors.Entry> w = headers.apply(component);
        for (String last : List.of("to_out.0", "out_proj", "net.2", "fc2", "linear_2", "conv", "")) {
            if (last.equals("conv") && !path.matches(".*\\.(down|up)samplers\\.\\d+")) continue;
            String m = last.isEmpty() ? path : path + "." + last;
            SafeTensors.Entry we = w.get(m + ".weight");
            if (we == null || (we.shape().length != 2 && we.shape().length != 4)) continue;
            return new Site(tap, component, List.of(m + ".weight"), w.containsKey(m + ".bias") ? List.of(m + ".bias") : List.of(), false);
        }
        String tok = path + ".token_embedding.weight", pos = path + ".position_embedding.weight";
        if (w.containsKey(tok) && w.containsKey(pos)) return new Site(tap, component, List.of(tok, pos), List.of(), true);
        return null;
    }

    /** The taps of {@code catalog} that can be baked, in call order. */
    public static List<String> bakeable(Path model, TapCatalog catalog) {
        var headers = headers(model);
        return catalog.names().stream().filter(t -> site(catalog, t, headers) != null).toList();
    }

    /**
     * Writes a copy of the model at {@code model} to {@code out} (a new folder, written whole or not at all) with
     * directional ablation at strength {@code strength} baked in at each of {@code taps} (steering file vectors, one
     * row each). The components without a baked tap are hard links to the original files (copies across file
     * systems): nothing writes into a model's files in place, and the original folder is never changed.
     */
    public static Result bake(Path model, TapCatalog catalog, SteeringFile file, List<String> taps, float strength, Path out) {
        if (!Float.isFinite(strength) || strength == 0) throw new UserError("strength " + strength + ": expected a finite, non-zero number");
        if (taps.isEmpty()) throw new UserError("no tap to bake");
        OutputPaths.check("--out", out, OutputPaths.input("--model", model));
        Map<String, Site> sites = new LinkedHashMap<>();
        Map<String, String> roots = new LinkedHashMap<>();
        var headers = headers(model);
        for (String t : taps) {
            SteeringFile.TapVector tv = file.taps().get(t);
            if (tv == null) throw new UserError("tap '" + t + "' is not in the steering file (it has " + file.taps().keySet() + ")");
            if (tv.vectors() == null) throw new UserError("tap '" + t + "': the steering file holds a transport (AcT), not a direction to ablate");
            if (tv.steps() != 1) throw new UserError("tap '" + t + "': the steering file holds " + tv.steps() + " vectors (one per step); baking needs one direction");
            Site s = site(catalog, t, headers);
            if (s == null) throw notBakeable(model, catalog, file, t);
            TapCatalog.Entry e = catalog.entry(t);
            String root = e.aliasOf() != null ? e.aliasOf() : t, other = roots.put(root, t);
            if (other != null) throw new UserError("taps '" + other + "' and '" + t + "' are two names of one tensor: bake it once");
            if (e.channels() != tv.channels())
                throw new UserError("tap '" + t + "' has " + e.channels() + " channels in this model but " + tv.channels() + " in the steering file");
            sites.put(t, s);
        }
        Map<String, Map<String, double[]>> directions = new LinkedHashMap<>();   // component → tensor → r
        for (Map.Entry<String, Site> s : sites.entrySet()) {
            double[] r = unit(file.taps().get(s.getKey()).vector(-1), s.getKey());
            Map<String, double[]> byTensor = directions.computeIfAbsent(s.getValue().component(), k -> new LinkedHashMap<>());
            for (String n : s.getValue().weights()) byTensor.put(n, r);
            for (String n : s.getValue().biases()) byTensor.put(n, r);
        }
        try {
            AtomicFiles.cleanStale(out);
            if (Files.exists(out)) throw new UserError("--out " + out + ": already exists (the baked model is written to a new folder)");
            Path tmp = AtomicFiles.tempDirBeside(out);
            try {
                copyTree(model, tmp, directions.keySet());
                Map<String, List<String>> changed = new LinkedHashMap<>();
                for (var c : directions.entrySet()) {
                    Files.createDirectories(tmp.resolve(c.getKey()));
                    try (Stream<Path> files = Files.list(model.resolve(c.getKey()))) {
                        for (Path f : files.toList()) {
                            Path target = tmp.resolve(c.getKey()).resolve(f.getFileName().toString());
                            if (Files.isDirectory(f)) copyTree(f, target, java.util.Set.of());
                            else if (f.getFileName().toString().endsWith(".safetensors")) bakeFile(f, target, c.getValue(), strength, file, sites.keySet());
                            else link(f, target);
                        }
                    }
                    changed.put(c.getKey(), List.copyOf(c.getValue().keySet()));
                }
                AtomicFiles.commit(tmp, out);
                tmp = null;
                return new Result(out, List.copyOf(sites.keySet()), changed);
            } finally {
                if (tmp != null) AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + " (" + AtomicFiles.reason(e) + ")", e);
        }
    }

    /** The refusal of a tap that cannot be baked, listing the steering file's taps that can (else the model's). */
    private static UserError notBakeable(Path model, TapCatalog catalog, SteeringFile file, String tap) {
        List<String> all = bakeable(model, catalog), inFile = all.stream().filter(file.taps()::containsKey).toList();
        String list = !inFile.isEmpty() ? "this steering file's taps that can: " + String.join(", ", inFile)
            : "none of this steering file's taps can; the model's taps that can (" + all.size() + "): " + String.join(", ", all.subList(0, Math.min(12, all.size())))
                + (all.size() > 12 ? ", ..." : "");
        return new UserError("tap '" + tap + "' cannot be baked exactly: its value is not the output of a Linear, convolution or embedding"
            + " (a residual or a norm comes after it); " + list);
    }

    /** Rewrites one weight file: the tensors in {@code r} orthogonalised, every other tensor as it was, same dtypes. */
    private static void bakeFile(Path src, Path target, Map<String, double[]> r, float strength, SteeringFile file, Iterable<String> taps) {
        SafeTensors st = SafeTensors.open(src);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(st.metadata())
            .metadata("stitch_ablation", "directional ablation at strength " + strength + " of " + file.meta(SteeringFile.METHOD, "?")
                + " vectors (prompt set " + file.meta(SteeringFile.PROMPTS, "?") + ") at " + String.join(", ", taps));
        for (String n : st.names()) {
            SafeTensors.Entry e = st.entry(n);
            double[] dir = r.get(n);
            if (dir == null) {
                w.add(n, e.dtype(), e.shape(), st.bytes(n));
                continue;
            }
            DType dt = e.dtype().computeType();
            if (dt == null) throw new UserError(src + ": tensor '" + n + "' has dtype " + e.dtype() + ", expected F32, F16 or BF16");
            boolean table = n.endsWith("_embedding.weight");
            w.add(n, e.dtype(), e.shape(), SafeTensorsWriter.bytesOf(project(st.floats(n), e.intShape(), dir, strength, table, src + ": " + n), dt));
        }
        w.write(target);
    }

    /**
     * {@code W − α·r·(rᵀW)} on the channel axis: axis 0 of a weight or bias {@code [C, ...]}, axis 1 of an embedding
     * table {@code [rows, C]}; in double, rounded once.
     */
    static float[] project(float[] w, int[] shape, double[] r, float strength, boolean channelsLast, String what) {
        int c = r.length;
        if (shape[channelsLast ? 1 : 0] != c) throw new UserError(what + " has shape " + java.util.Arrays.toString(shape) + ", expected " + c + " channels");
        float[] out = new float[w.length];
        if (channelsLast) {
            for (int row = 0; row < shape[0]; row++) {
                double p = 0;
                for (int j = 0; j < c; j++) p += r[j] * w[row * c + j];
                for (int j = 0; j < c; j++) out[row * c + j] = (float) (w[row * c + j] - strength * r[j] * p);
            }
            return out;
        }
        int k = w.length / c;
        double[] p = new double[k];
        for (int j = 0; j < c; j++)
            for (int i = 0; i < k; i++) p[i] += r[j] * w[j * k + i];
        for (int o = 0; o < c; o++)
            for (int i = 0; i < k; i++) out[o * k + i] = (float) (w[o * k + i] - strength * r[o] * p[i]);
        return out;
    }

    private static double[] unit(float[] v, String tap) {
        double n = 0;
        for (float x : v) n += (double) x * x;
        n = Math.sqrt(n);
        if (!(n > 0) || !Double.isFinite(n)) throw new UserError("tap '" + tap + "': the steering vector is zero or not finite; it has no direction");
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = v[i] / n;
        return r;
    }

    /** The weight files of a component folder (one, or several for a UNet with an fp16 variant beside). */
    private static List<SafeTensors> weights(Path dir) {
        List<SafeTensors> out = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList()) out.add(SafeTensors.open(f));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir, e);
            }
        }
        if (out.isEmpty()) throw new UserError(dir + ": no .safetensors weights (sharded or .bin weights cannot be baked)");
        return out;
    }

    /** Links (or copies) everything of {@code src} into {@code dst} except the folders of {@code skip}. */
    private static void copyTree(Path src, Path dst, java.util.Set<String> skip) throws IOException {
        try (Stream<Path> all = Files.walk(src, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {   // a hub cache's files are links
            for (Path p : all.toList()) {
                Path rel = src.relativize(p);
                if (rel.getNameCount() > 0 && skip.contains(rel.getName(0).toString())) continue;
                Path t = dst.resolve(rel.toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else if (Files.isRegularFile(p)) link(p, t);
            }
        }
    }

    private static void link(Path from, Path to) throws IOException {
        try {
            Files.createLink(to, from.toRealPath());
        } catch (FileSystemException | UnsupportedOperationException e) {
            Files.copy(from, to);   // another file system, or no hard links there
        }
    }
}
