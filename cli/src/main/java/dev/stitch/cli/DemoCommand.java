package dev.stitch.cli;

import dev.stitch.engine.image.Png;
import dev.stitch.engine.pipeline.GenerateRequest;
import dev.stitch.engine.pipeline.RandomModel;
import dev.stitch.engine.pipeline.StableDiffusion;
import dev.stitch.engine.pipeline.StableDiffusionPipeline;
import dev.stitch.eval.run.Shard;
import dev.stitch.eval.study.DemoStudy;
import dev.stitch.eval.study.Experiment;
import dev.stitch.eval.study.Study;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.DType;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.LayerScore;
import dev.stitch.steering.LayerScores;
import dev.stitch.steering.LayerSet;
import dev.stitch.steering.Method;
import dev.stitch.steering.Operator;
import dev.stitch.steering.PairedActivations;
import dev.stitch.steering.PromptPairs;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import dev.stitch.steering.Sweep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code stitch demo}: the whole steering loop on the built-in tiny model in a minute or two — prompt pairs from a
 * small template set, extraction, layer scores, a sweep grid and a small study (into {@code DIR/study}) — all written
 * to one folder with a README.
 */
@Command(name = "demo", description = "Run the steering loop (pairs -> extract -> layer scores -> sweep -> a small study) on the built-in tiny model.", sortOptions = false)
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", paramLabel = "DIR", defaultValue = "stitch-demo", description = "output folder (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--model", paramLabel = "DIR|ID", description = "run on this diffusers folder or cached Hub id instead (default: the tiny random-weight model, written to DIR/model)")
    Path model;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "10", description = "denoising steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--strengths", paramLabel = "LIST", defaultValue = "2,4,8", split = ",", description = "sweep strengths (default ${DEFAULT-VALUE})")
    List<Float> strengths;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
    String device;

    static final String TAPS = "unet.*.resnets.?,unet.*.attentions.?,unet.mid_block";
    static final String PROMPT = "a house";

    @Override
    public Integer call() {
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UserError("--out " + out + ": cannot create the folder (" + e.getMessage() + ")");
        }
        Path modelDir = Models.locate(model);
        if (modelDir == null) {
            modelDir = out.resolve("model");
            if (!Files.isRegularFile(modelDir.resolve("model_index.json"))) {
                RandomModel.write("tiny", modelDir, 0, DType.F32, null);
                System.err.println("stitch: wrote the tiny random-weight model to " + modelDir);
            }
        }
        Backend ops = Devices.backend(device);
        StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelDir);
        long tModel = System.nanoTime();

        // 1. pairs
        PromptPairs pairs = PromptPairs.demo();
        LayersCommand.writeText(out.resolve("pairs.jsonl"), pairs.toJsonl());

        // 2. capture and extract (mean difference over all steps, cond half)
        PairsOptions o = new PairsOptions();
        o.pairs = out.resolve("pairs.jsonl");
        o.taps = TAPS;
        o.atSteps = "all";
        o.half = "cond";
        o.tokens = "all";
        o.batch = 6;
        GenerateRequest base = pipe.request(PROMPT).steps(steps).seed(0).build();
        PairedActivations acts = o.capture(pipe, ops, base, pairs, false);
        Map<String, LayerScore> scores = acts.scores();
        SteeringFile file = acts.extract(Method.MEAN_DIFF);
        Path vectors = out.resolve("winter.safetensors");
        file.write(vectors);
        long tExtract = System.nanoTime();

        // 3. layer scores
        String table = LayerScores.table(scores, 10);
        LayersCommand.writeText(out.resolve("layers.txt"), table);
        LayersCommand.writeText(out.resolve("layers.json"), LayerScores.json(scores));
        Png.write(out.resolve("layers.png"), LayerScores.plot(scores, "LayerNavigator scores, demo pairs (winter vs plain), all " + steps + " steps"),
            Map.of("software", "Stitch"));
        System.out.print(table);
        long tLayers = System.nanoTime();

        // 4. sweep: the best three taps, each UNet third, all taps; add at a few strengths
        GenerateRequest req = pipe.request(PROMPT).steps(steps).seed(7).build();
        SteeringPlan plan = SteeringPlan.defaults(file, null);
        var sets = LayerSet.parse(List.of("top3", "early", "middle", "late", "all"), file, 3);
        Sweep.Result sweep = new Sweep(strengths, sets, List.of(Operator.ADD)).run(new StableDiffusion(pipe, ops), req, plan, vectors.getFileName().toString(), Sweep.Progress.NONE);
        sweep.write(out.resolve("sweep.png"), out.resolve("sweep.json"));
        var cells = sweep.cells();
        long tSweep = System.nanoTime();

        // 5. a small study (docs/study.md): single vs multi, early/middle/late, two methods, layer score vs effect
        Path studyDir = out.resolve("study");
        Path experiment = DemoStudy.write(studyDir, model == null ? "../model" : modelDir.toAbsolutePath().toString(), steps);
        new Study(Experiment.read(experiment), ops, System.err).run(studyDir, Shard.ALL);
        long tStudy = System.nanoTime();

        StringBuilder md = new StringBuilder();
        md.append("# Stitch steering demo\n\n");
        md.append("The whole steering loop on ").append(model == null ? "the built-in tiny random-weight model (`model/`, written with `stitch make-random-model --config tiny`)" : "the model `" + modelDir.getFileName() + "`")
            .append(", ").append(ops.name()).append(" backend. A random-weight model draws noise, so the pictures mean nothing; the numbers show the machinery at work.\n\n");
        md.append("| file | what |\n| --- | --- |\n");
        md.append("| `pairs.jsonl` | ").append(pairs.size()).append(" prompt pairs from a template set: *{subject}, in winter, covered in deep snow* vs *{subject}* |\n");
        md.append("| `winter.safetensors` | mean-difference vectors for ").append(file.taps().size()).append(" taps (`").append(TAPS)
            .append("`), cond half, spatial mean averaged over all ").append(steps).append(" steps; pair i starts from seed i |\n");
        md.append("| `layers.txt`, `layers.json`, `layers.png` | LayerNavigator scores s = D + C per tap, ranked and plotted by depth |\n");
        md.append("| `sweep.png`, `sweep.json` | \"").append(PROMPT).append("\", seed 7: add at strengths ").append(strengths)
            .append(" on the best three taps, the early / middle / late UNet taps, and all of them |\n");
        md.append("| `study/` | a small study of the colour red (`study/study.yaml`): every setup against the unsteered baseline from the same seeds, "
            + "measured by the share of red pixels; `study/report.html` and `study/summary.json` (see docs/study.md) |\n\n");
        md.append(String.format(Locale.ROOT, "Times: model %.1f s, capture + extraction %.1f s, scores and plot %.1f s, sweep (%d images) %.1f s, study %.1f s; total %.1f s.%n%n",
            (tModel - t0) / 1e9, (tExtract - tModel) / 1e9, (tLayers - tExtract) / 1e9, cells.size() + 1, (tSweep - tLayers) / 1e9,
            (tStudy - tSweep) / 1e9, (tStudy - t0) / 1e9));
        md.append("## Layer scores\n\nEarly = conv_in and the down blocks, middle = the mid block, late = the up blocks.\n\n```\n").append(table).append("```\n\n");
        md.append("## Sweep\n\nPixel RMS difference from the unsteered image (0-255 scale):\n\n| layer set | taps |");
        for (float s : strengths) md.append(" ").append(Sweep.format(s)).append(" |");
        md.append("\n| --- | --- |").append(" --- |".repeat(strengths.size())).append('\n');
        for (var set : sets) {
            md.append("| ").append(set.label()).append(" | ").append(set.taps().size()).append(" |");
            for (var c : cells) if (c.layerSet() == set) md.append(String.format(Locale.ROOT, " %.2f |", c.pixelRms()));
            md.append('\n');
        }
        md.append("\n## The same with the CLI\n\n```\n");
        String m = model == null ? out.resolve("model").toString() : modelDir.toString();
        md.append("stitch extract --model ").append(m).append(" --pairs ").append(out.resolve("pairs.jsonl")).append(" --taps '").append(TAPS)
            .append("' --method mean-diff --steps ").append(steps).append(" --batch 6 --out winter.safetensors\n");
        md.append("stitch layers  --model ").append(m).append(" --pairs ").append(out.resolve("pairs.jsonl")).append(" --taps '").append(TAPS)
            .append("' --steps ").append(steps).append(" --plot layers.png\n");
        md.append("stitch sweep   --model ").append(m).append(" --prompt '").append(PROMPT).append("' --seed 7 --steps ").append(steps)
            .append(" --steer winter.safetensors --layer-sets top3,early,middle,late,all --strengths ")
            .append(String.join(",", strengths.stream().map(Sweep::format).toList())).append(" --out sweep.png\n");
        md.append("stitch generate --model ").append(m).append(" --prompt '").append(PROMPT).append("' --seed 7 --steps ").append(steps)
            .append(" --steer winter.safetensors@4 --steer-window 0-4 --out steered.png\n");
        md.append("stitch study ").append(experiment).append(" --out ").append(studyDir).append("\n```\n");
        LayersCommand.writeText(out.resolve("README.md"), md.toString());
        System.err.printf(Locale.ROOT, "stitch: demo written to %s in %.1f s (see README.md)%n", out, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
