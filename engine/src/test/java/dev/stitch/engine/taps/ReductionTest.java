package dev.stitch.engine.taps;

import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ReductionTest {
    final Random rnd = new Random(11);

    static TapContext ctx(TapLayout layout, TapContext.Rows rows) {
        return new TapContext("unet", layout, 0, 999, rows, ReferenceBackend.INSTANCE);
    }

    @Test
    void meanOfNchwIsTheSpatialMeanPerChannelOfTheChosenRows() {
        int b = 4, c = 5, h = 3, w = 7;
        Tensor x = SyntheticModel.random(rnd, b, c, h, w);
        float[] d = x.data();
        int[] cond = TapContext.Rows.cfg(2).rowsOf(CfgHalf.COND);
        Tensor m = Reduction.MEAN.reduce("unet.mid_block", x, cond, ctx(TapLayout.NCHW, TapContext.Rows.cfg(2)));
        assertArrayEquals(new int[] {2, c}, m.shape());
        for (int i = 0; i < 2; i++)
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int y = 0; y < h; y++) for (int xx = 0; xx < w; xx++) s += d[(((2 + i) * c + ch) * h + y) * w + xx];
                assertEquals(s / (h * w), m.data()[i * c + ch], 1e-6, "row " + i + " channel " + ch);
            }
    }

    @Test
    void meanOfNlcIsTheMeanOverTokensPerChannel() {
        int b = 3, l = 6, c = 4;
        Tensor x = SyntheticModel.random(rnd, b, l, c);
        float[] d = x.data();
        int[] rows = {2, 0};
        Tensor m = Reduction.MEAN.reduce("unet.x.attn2", x, rows, ctx(TapLayout.NLC, TapContext.Rows.cond(3)));
        assertArrayEquals(new int[] {2, c}, m.shape());
        for (int i = 0; i < rows.length; i++)
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int p = 0; p < l; p++) s += d[(rows[i] * l + p) * c + ch];
                assertEquals(s / l, m.data()[i * c + ch], 1e-6);
            }
        Tensor nc = SyntheticModel.random(rnd, 3, 4);
        assertArrayEquals(new float[] {nc.data()[8], nc.data()[9], nc.data()[10], nc.data()[11]},
            Reduction.MEAN.reduce("unet.time_embedding", nc, new int[] {2}, ctx(TapLayout.NC, TapContext.Rows.cond(3))).data());
    }

    @Test
    void noneCopiesTheRowsAndOwnsItsArray() {
        Tensor x = SyntheticModel.random(rnd, 4, 2, 3, 3);
        float[] d = x.data();
        Tensor r = Reduction.NONE.reduce("unet.conv_in", x, new int[] {1, 3}, ctx(TapLayout.NCHW, TapContext.Rows.cfg(2)));
        assertArrayEquals(new int[] {2, 2, 3, 3}, r.shape());
        for (int i = 0; i < 18; i++) {
            assertEquals(d[18 + i], r.data()[i], 0f);
            assertEquals(d[54 + i], r.data()[18 + i], 0f);
        }
        float before = r.data()[0];
        d[18] += 1;
        assertEquals(before, r.data()[0], 0f, "the capture must not alias the model's buffer");
    }

    @Test
    void tokenSelectionsUseTheRowsTokenIds() {
        int l = SyntheticModel.L, c = 3;
        int[][] ids = SyntheticModel.tokens(0, 2, 5);   // EOS at 1, 3, 6
        Tensor x = SyntheticModel.random(rnd, 3, l, c);
        float[] d = x.data();
        TapContext ctx = new TapContext("text_encoder", TapLayout.NLC, -1, Double.NaN, TapContext.Rows.cond(3).withTokens(ids), ReferenceBackend.INSTANCE);
        int[] rows = {0, 1, 2};
        String tap = "text_encoder.text_model.encoder.layers.0";
        int[] eos = {1, 3, 6}, last = {0, 2, 5};
        Tensor e = Reduction.EOS_TOKEN.reduce(tap, x, rows, ctx), la = Reduction.LAST_TOKEN.reduce(tap, x, rows, ctx);
        Tensor pos = Reduction.tokens(4, 0).reduce(tap, x, rows, ctx);
        assertArrayEquals(new int[] {3, c}, e.shape());
        assertArrayEquals(new int[] {3, 2, c}, pos.shape());
        for (int r = 0; r < 3; r++)
            for (int ch = 0; ch < c; ch++) {
                assertEquals(d[(r * l + eos[r]) * c + ch], e.data()[r * c + ch], 0f);
                assertEquals(d[(r * l + last[r]) * c + ch], la.data()[r * c + ch], 0f);
                assertEquals(d[(r * l + 4) * c + ch], pos.data()[(r * 2) * c + ch], 0f);
                assertEquals(d[(r * l) * c + ch], pos.data()[(r * 2 + 1) * c + ch], 0f);
            }
        assertThrows(UserError.class, () -> Reduction.tokens(l).reduce(tap, x, rows, ctx));
    }

    @Test
    void tokenSelectionOnImageTapsIsAUserError() {
        Tensor x = SyntheticModel.random(rnd, 2, 3, 2, 2);
        var e = assertThrows(UserError.class, () -> Reduction.LAST_TOKEN.reduce("unet.mid_block", x, new int[] {0}, ctx(TapLayout.NCHW, TapContext.Rows.cond(2))));
        assertTrue(e.getMessage().contains("unet.mid_block"), e.getMessage());
    }

    @Test
    void parsesTheFlagForms() {
        assertSame(Reduction.NONE, Reduction.parse("none"));
        assertSame(Reduction.MEAN, Reduction.parse("mean"));
        assertSame(Reduction.LAST_TOKEN, Reduction.parse("last"));
        assertSame(Reduction.EOS_TOKEN, Reduction.parse("eos"));
        assertEquals("0,5,6", Reduction.parse("0, 5,6").toString());
        assertThrows(UserError.class, () -> Reduction.parse("median"));
        assertThrows(UserError.class, () -> Reduction.parse("-1"));
    }

    @Test
    void stepSets() {
        StepSet s = StepSet.parse("0, 10-12,49");
        assertTrue(s.contains(0) && s.contains(10) && s.contains(12) && s.contains(49) && s.contains(-1));
        assertFalse(s.contains(1) || s.contains(13) || s.contains(48));
        assertTrue(StepSet.ALL.contains(1000));
        assertThrows(UserError.class, () -> s.within(49));
        assertSame(s, s.within(50));
        for (String bad : new String[] {"", "a", "5-3", "-2", "1,,2"}) assertThrows(UserError.class, () -> StepSet.parse(bad), bad);
    }
}
