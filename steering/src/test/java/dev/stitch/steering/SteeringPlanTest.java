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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * A token selection edits only the chosen positions of a text-encoder tap's rows, each exactly as an edit of every
     * position would; EOS and the last word are found per row from its token ids.
     */
    @Test
    void tokenSelectionEditsOnlyTheChosenPositions() {
        String tap = "text_encoder.text_model.encoder.layers.0";
        Random r = new Random(4);
        int l = 8, c = 6;
        float[] v = new float[c];
        for (int i = 0; i < c; i++) v[i] = (float) r.nextGaussian();
        var tv = new SteeringFile.TapVector(tap, new float[][] {v}, null);
        float[] x = new float[2 * l * c];   // [B, L, C]: row 0 uncond, row 1 cond
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        int[][] ids = {{49406, 320, 49407, 0, 0, 0, 0, 0}, {49406, 320, 1929, 539, 2368, 49407, 49407, 49407}};   // EOS at 2 and 5
        TapContext ctx = new TapContext("text_encoder", TapLayout.NLC, -1, 0, TapContext.Rows.cfg(1).withTokens(ids), new CpuBackend(1, true));
        // {tokens, half, the changed positions of row 0, of row 1}
        Object[][] cases = {
            {"eos", SteeringPlan.Half.BOTH, new int[] {2}, new int[] {5}},
            {"last", SteeringPlan.Half.BOTH, new int[] {1}, new int[] {4}},
            {"0,3,4,7", SteeringPlan.Half.COND, new int[] {}, new int[] {0, 3, 4, 7}},
            {"6,1", SteeringPlan.Half.UNCOND, new int[] {1, 6}, new int[] {}},
        };
        for (Operator op : new Operator[] {Operator.ADD, Operator.ABLATE, Operator.GATED, Operator.CLAMP})
            for (Object[] k : cases) {
                SteeringPlan all = SteeringPlan.defaults(new SteeringFile(Map.of(), Map.of(tap, tv)), 2f).withOperator(op)
                    .withHalf((SteeringPlan.Half) k[1]).withNormPreserved(op == Operator.ABLATE);
                SteeringPlan some = all.withTokens(TokenSelection.parse((String) k[0]));
                float[] whole = all.editor(tv, 2f).edit(tap, Tensor.of(x.clone(), 2, l, c), ctx).data();
                float[] y = some.editor(tv, 2f).edit(tap, Tensor.of(x.clone(), 2, l, c), ctx).data();
                for (int row = 0; row < 2; row++) {
                    int[] chosen = (int[]) k[2 + row];
                    for (int p = 0; p < l; p++) {
                        for (int ch = 0; ch < c; ch++) {
                            int i = (row * l + p) * c + ch;
                            String where = op + " tokens " + k[0] + ": row " + row + ", position " + p;
                            if (contains(chosen, p)) assertEquals(whole[i], y[i], 1e-6f, where + " is edited as a whole edit would");
                            else assertEquals(x[i], y[i], 0f, where + " is untouched");
                        }
                    }
                    if (chosen.length > 0 && op == Operator.ADD) assertNotEquals(x[(row * l + chosen[0]) * c], y[(row * l + chosen[0]) * c]);
                }
            }
    }

    private static boolean contains(int[] a, int x) {
        for (int v : a) if (v == x) return true;
        return false;
    }

    @Test
    void tokenSelectionsParseLikeCaptureTokens() {
        assertEquals("all", TokenSelection.parse("all").toString());
        assertEquals("eos", TokenSelection.parse("eos").toString());
        assertEquals("0,5,6", TokenSelection.parse("0, 5,6").toString());
        for (String bad : new String[] {"mean", "none", "first", "-1", ""})
            org.junit.jupiter.api.Assertions.assertThrows(dev.stitch.kernels.UserError.class, () -> TokenSelection.parse(bad), bad);
        // a token selection without a text-encoder tap is refused: UNet taps have no token positions
        var tv = new SteeringFile.TapVector(TAP, new float[][] {{1, 2}}, null);
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.stitch.kernels.UserError.class, () -> SteeringPlan.defaults(
            new SteeringFile(Map.of(), Map.of(TAP, tv)), 1f).withTokens(TokenSelection.parse("eos")).check(null, "setup x"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("setup x: tokens eos chooses token positions of text-encoder taps"), e.getMessage());
    }

    /** Guidance ≤ 1 (SD-Turbo) has no unconditional rows: half uncond would steer nothing, and is refused. */
    @Test
    void halfUncondNeedsGuidanceAboveOne() {
        var tv = new SteeringFile.TapVector(TAP, new float[][] {{1, 2, 3}}, null);
        SteeringPlan plan = SteeringPlan.defaults(new SteeringFile(Map.of(), Map.of(TAP, tv)), 2f);
        for (float g : new float[] {0f, 0.5f, 1f}) {
            var e = assertThrows(dev.stitch.kernels.UserError.class, () -> plan.withHalf(SteeringPlan.Half.UNCOND).checkGuidance(g, "steering x"));
            assertTrue(e.getMessage().startsWith("steering x: half uncond") && e.getMessage().contains("no unconditional pass"), e.getMessage());
            plan.withHalf(SteeringPlan.Half.COND).checkGuidance(g, "steering x");
            plan.withHalf(SteeringPlan.Half.BOTH).checkGuidance(g, "steering x");
        }
        plan.withHalf(SteeringPlan.Half.UNCOND).checkGuidance(1.5f, "steering x");
    }
}
