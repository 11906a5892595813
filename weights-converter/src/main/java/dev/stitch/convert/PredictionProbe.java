package dev.stitch.convert;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeDType;
import dev.stitch.engine.schedulers.Prediction;
import dev.stitch.engine.unet.UNet2DConditionModel;
import dev.stitch.engine.unet.UNetConfig;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tells an ε-prediction UNet from a v-prediction one by running it once, as stable-diffusion.cpp (after the
 * AUTOMATIC1111 web UI) does: input 0.5 everywhere (8x8 latents), two context tokens of 0.5, t = 999. Near pure noise
 * an ε-model returns about its input, so mean(out - x) stays near 0; a v-model returns about -x0 and the mean falls
 * below -1.
 */
public final class PredictionProbe {
    /** The result: the mean difference and what it means. */
    public record Result(double meanDifference, Prediction prediction) {}

    static final float X = 0.5f, T = 999f, THRESHOLD = -1f;

    private PredictionProbe() {}

    /** Runs the planned UNet (its tensors as mapped views) on {@code ops}. */
    public static Result run(ConfigInference.Inferred config, List<StoredTensor> unetTensors, Backend ops) {
        String json = DiffusersConfigs.unet(config).toString();
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (StoredTensor t : unetTensors) {
            StoredTensor f = t.dtype() == SafeDType.F64 ? DTypeConversion.converted(t, SafeDType.F32) : t;
            weights.put(t.name(), Tensor.mapped(f.bytes(), f.dtype().computeType(), Arrays.stream(f.shape()).mapToInt(Math::toIntExact).toArray()));
        }
        UNet2DConditionModel unet = new UNet2DConditionModel(UNetConfig.parse("unet (converted)", json), Weights.of("unet", "checkpoint", weights));
        int c = config.unetIn();
        float[] x = new float[c * 8 * 8], ctx = new float[2 * config.crossAttentionDim()];
        Arrays.fill(x, X);
        Arrays.fill(ctx, X);
        Tensor out = unet.forward(new Ctx(ops), ops.fromHost(x, 1, c, 8, 8), new float[] {T}, ops.fromHost(ctx, 1, 2, config.crossAttentionDim()));
        float[] o = ops.toHost(out);
        double sum = 0;
        for (float v : o) sum += v - X;
        double mean = sum / o.length;
        if (!Double.isFinite(mean)) throw new IllegalStateException("prediction probe: the UNet returned non-finite values");
        return new Result(mean, mean < THRESHOLD ? Prediction.V_PREDICTION : Prediction.EPSILON);
    }
}
