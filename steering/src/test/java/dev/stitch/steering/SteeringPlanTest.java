package dev.stitch.steering;

import dev.stitch.engine.taps.TapContext;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.TimedBackend;
import dev.stitch.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A plan's editors compute on the backend that holds the activations and edit only the chosen CFG half. */
class SteeringPlanTest {
    static final String TAP = "unet.mid_block";

    @Test
    void editorsRunOnTheBackendWithoutAHostRoundTrip() {
        Random r = new Random(System.nanoTime());
        float[] v = new float[6];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        var tv = new SteeringFile.TapVector(TAP, new float[][] {v}, null);
        SteeringPlan plan = SteeringPlan.defaults(new SteeringFile(Map.of(), Map.of(TAP, tv)), 2f).withHalf(SteeringPlan.Half.COND);
        float[] x = new float[2 * 6 * 3 * 5];   // [B, C, H, W], guided: row 0 uncond, row 1 cond
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (Operator op : new Operator[] {Operator.ADD, Operator.ABLATE, Operator.GATED, Operator.CLAMP}) {
            TimedBackend ops = new TimedBackend(new CpuBackend(1, true));
            TapContext ctx = new TapContext("unet", TapLayout.NCHW, 0, 999, TapContext.Rows.cfg(1), ops);
            Tensor y = plan.withOperator(op).editor(tv, 2f).edit(TAP, Tensor.of(x.clone(), 2, 6, 3, 5), ctx);
            assertEquals("addDirection", String.join(",", ops.entries().stream().map(e -> e.op).toList()), op + ": ops run");
            float[] yd = y.data();
            for (int i = 0; i < 90; i++) assertEquals(x[i], yd[i], 0f, op + ": the uncond row is not steered");
            double moved = 0;
            for (int i = 90; i < 180; i++) moved += Math.abs(yd[i] - x[i]);
            assertNotEquals(0, moved, op + ": the cond row is steered");
        }
    }
}
