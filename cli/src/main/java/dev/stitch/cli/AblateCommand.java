package dev.stitch.cli;

import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.engine.taps.TapCatalog;
import dev.stitch.engine.taps.TapPattern;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.BakedAblation;
import dev.stitch.steering.SteeringFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code stitch ablate}: a new model folder with directional ablation baked into the weights ({@link BakedAblation}). */
@Command(name = "ablate", sortOptions = false,
    description = {"Write a new model folder whose weights project a steering direction out at taps: every weight writing a tap's value is "
        + "orthogonalised against the unit direction r (W <- W - S r r^T W, biases too), which equals --steer-op ablate at strength S "
        + "at every step and CFG half. Only taps that are the output of a Linear, convolution or the text embeddings can be baked; "
        + "others are refused with the list of those that can. The original folder is not changed; unchanged files are hard links."})
final class AblateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|ID", description = "diffusers model folder or Hub id org/name[@revision] in the cache (a checkpoint: run stitch convert first)")
    Path model;

    @Option(names = "--steer", required = true, paramLabel = "FILE", description = "steering file of directions (one vector per tap), e.g. from stitch extract")
    Path steer;

    @Option(names = "--taps", paramLabel = "GLOB[,GLOB]", description = "the steering file's taps to bake; without it, every tap of the file")
    String taps;

    @Option(names = "--strength", paramLabel = "S", defaultValue = "1", description = "ablation strength; 1 (default) removes the direction entirely")
    String strength;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the new model folder (must not exist)")
    Path out;

    @Override
    public Integer call() {
        model = Models.locate(model);   // a Hub id: its snapshot in the Hugging Face cache
        if (!Files.isDirectory(model)) throw new UserError("--model " + model + ": not a diffusers model folder (convert a checkpoint with stitch convert first)");
        float s = SteeringOptions.strength("--strength", strength);
        if (s == 0) throw new UserError("--strength 0 changes nothing: expected a non-zero number");
        SteeringFile file = SteeringFile.read(steer);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model);
        TapCatalog catalog = pipe.tapCatalog(pipe.defaultSize(), pipe.defaultSize());
        List<String> chosen = List.copyOf(file.taps().keySet());
        if (taps != null) {
            TapPattern p = TapPattern.of(taps);
            chosen = chosen.stream().filter(p::matches).toList();
            if (chosen.isEmpty()) throw new UserError("--taps " + taps + ": selects none of the steering file's taps " + file.taps().keySet());
        }
        BakedAblation.Result r = BakedAblation.bake(model, catalog, file, chosen, s, out);
        r.tensors().forEach((c, t) -> System.err.println("stitch: " + c + ": " + t.size() + " tensor(s) orthogonalised"));
        String where = r.taps().size() <= 3 ? String.join(", ", r.taps()) : r.taps().size() + " taps";
        System.err.println("stitch: wrote " + r.out() + " (directional ablation at strength " + s + " baked in at " + where + ")");
        return 0;
    }
}
