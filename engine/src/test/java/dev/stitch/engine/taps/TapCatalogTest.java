package dev.stitch.engine.taps;

import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.ShapeBackend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

class TapCatalogTest {
    final SyntheticModel model = new SyntheticModel(1);
    final int[][] ids = SyntheticModel.tokens(3, 1);

    TapCatalog catalog(Backend ops, int h, int w) {
        Tensor latents = ops.fromHost(SyntheticModel.random(new Random(2), 2, SyntheticModel.LATENT, h, w).data(), 2, SyntheticModel.LATENT, h, w);
        return TapCatalog.record(ops, c -> model.forward(c, latents, ids));
    }

    @Test
    void recordsEveryTapInCallOrderWithLayoutAndShape() {
        TapCatalog cat = catalog(ReferenceBackend.INSTANCE, 4, 6);
        assertEquals(SyntheticModel.TAPS, cat.names());
        var attn2 = cat.entry("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2");
        assertEquals(TapLayout.NLC, attn2.layout());
        assertArrayEquals(new int[] {2, 24, 8}, attn2.shape());
        assertEquals(8, attn2.channels());
        assertArrayEquals(new int[] {2, 8, 2, 3}, cat.entry("unet.mid_block").shape());
        assertArrayEquals(new int[] {2, 7, 8}, cat.entry("text_encoder.text_model.final_layer_norm").shape());
        assertNull(cat.entry("unet.nothing"));
    }

    /** The dry enumeration: the shape backend gives the same catalog as computing, at any size (odd sides too). */
    @Test
    void shapeBackendGivesTheSameCatalogAsComputing() {
        for (int[] hw : new int[][] {{4, 6}, {5, 3}}) {
            List<TapCatalog.Entry> real = catalog(ReferenceBackend.INSTANCE, hw[0], hw[1]).entries();
            List<TapCatalog.Entry> dry = catalog(ShapeBackend.INSTANCE, hw[0], hw[1]).entries();
            assertEquals(real.size(), dry.size());
            for (int i = 0; i < real.size(); i++) {
                assertEquals(real.get(i).name(), dry.get(i).name());
                assertEquals(real.get(i).layout(), dry.get(i).layout());
                assertArrayEquals(real.get(i).shape(), dry.get(i).shape(), real.get(i).name());
            }
        }
    }

    @Test
    void resolveReturnsMatchesInCallOrder() {
        TapCatalog cat = catalog(ShapeBackend.INSTANCE, 4, 6);
        assertEquals(List.of("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2"), cat.resolve("unet.*.attn2"));
        assertEquals(List.of("unet.conv_in", "unet.mid_block"), cat.resolve("unet.mid_block,unet.conv_in"));
        assertEquals(List.of("unet.mid_block.resnets.0"), cat.resolve("unet.mid_block.*"));
        assertEquals(12, cat.resolve("unet.*").size());
    }

    @Test
    void unknownNamesAndEmptyGlobsListCloseMatches() {
        TapCatalog cat = catalog(ShapeBackend.INSTANCE, 4, 6);
        var e = assertThrows(UserError.class, () -> cat.resolve("unet.mid_blok"));
        assertTrue(e.getMessage().startsWith("unknown tap 'unet.mid_blok'; closest: unet.mid_block, "), e.getMessage());
        assertTrue(e.getMessage().endsWith(" (`stitch taps` lists them all)"), e.getMessage());

        e = assertThrows(UserError.class, () -> cat.resolve("unet.*.atn2"));
        assertTrue(e.getMessage().startsWith("tap pattern 'unet.*.atn2' matches no tap; closest: "
            + "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2, "), e.getMessage());

        e = assertThrows(UserError.class, () -> cat.resolve("unet.conv_in,text_encoder.text_model.encoder.layers.22"));
        assertTrue(e.getMessage().startsWith("unknown tap 'text_encoder.text_model.encoder.layers.22'; closest: "
            + "text_encoder.text_model.encoder.layers.0, "), e.getMessage());
        assertEquals(5, e.getMessage().split("closest: ")[1].split(", ").length, "at most five names");
    }

    @Test
    void tableListsEveryTap() {
        TapCatalog cat = catalog(ShapeBackend.INSTANCE, 4, 6);
        String[] lines = cat.table().split("\\R");
        assertEquals(SyntheticModel.TAPS.size() + 2, lines.length);
        assertTrue(lines[0].startsWith("tap "));
        assertTrue(lines[1].matches("text_encoder\\.text_model\\.embeddings +NLC +8 +\\[2, 7, 8]"), lines[1]);
        assertEquals(SyntheticModel.TAPS.size() + " taps", lines[lines.length - 1]);
    }

    /** Every op of the shape backend gives the shape the reference backend computes (odd sizes, strides, padding). */
    @Test
    void shapeBackendAgreesWithTheReferenceOnEveryOp() {
        Random r = new Random(9);
        Tensor img = SyntheticModel.random(r, 2, 4, 5, 7), seq = SyntheticModel.random(r, 2, 6, 8), kv = SyntheticModel.random(r, 2, 3, 8);
        Tensor w = SyntheticModel.random(r, 3, 4, 3, 3), lin = SyntheticModel.random(r, 5, 8), g4 = SyntheticModel.random(r, 4), g8 = SyntheticModel.random(r, 8);
        var act = Activation.NONE;
        List<Function<Backend, Tensor>> ops = List.of(
            o -> o.linear(seq, lin, null, act),
            o -> o.matmul(seq, kv, false, true),
            o -> o.matmul(seq, seq, true, false),
            o -> o.conv2d(img, w, null, 2, 0, 1, 0, 1, act),
            o -> o.conv2d(img, w, null, 1, 1),
            o -> o.groupNorm(img, 2, g4, g4, 1e-5f, true),
            o -> o.layerNorm(seq, g8, g8, 1e-5f),
            o -> o.attention(seq, kv, kv, 2, 0.5f, false),
            o -> o.geglu(seq), o -> o.gelu(seq), o -> o.silu(img), o -> o.add(seq, seq), o -> o.mul(img, img), o -> o.scale(img, 2),
            o -> o.addChannels(img, SyntheticModel.random(r, 2, 4)),
            o -> o.avgPool2d(img, 3, 2, 1, false), o -> o.maxPool2d(img, 2, 2, 0),
            o -> o.upsampleNearest(img, 10, 13), o -> o.concat(1, img, img), o -> o.concat(-1, seq, seq),
            o -> o.slice(seq, 1, 2, 5), o -> o.nchwToNlc(img), o -> o.nlcToNchw(seq, 2, 3),
            o -> o.embedding(lin, new int[] {4, 0, 2}), o -> o.timestepEmbedding(new float[] {1, 500}, 6, true, 0));
        for (int i = 0; i < ops.size(); i++)
            assertArrayEquals(ops.get(i).apply(ReferenceBackend.INSTANCE).shape(), ops.get(i).apply(ShapeBackend.INSTANCE).shape(), "op #" + i);
    }

    @Test
    void shapeBackendRefusesNumbersAndChecksShapes() {
        var ops = ShapeBackend.INSTANCE;
        Tensor x = ops.fromHost(new float[6], 2, 3);
        assertThrows(IllegalStateException.class, () -> ops.toHost(x));
        assertThrows(IllegalStateException.class, x::data);
        assertThrows(IllegalArgumentException.class, () -> ops.linear(x, Tensor.zeros(4, 2), null, Activation.NONE));
        assertEquals("[2, 4]", Arrays.toString(ops.linear(x, Tensor.zeros(4, 3), null, Activation.NONE).shape()));
    }
}
