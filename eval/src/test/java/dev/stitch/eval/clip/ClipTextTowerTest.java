package dev.stitch.eval.clip;

import dev.stitch.eval.Golden;
import dev.stitch.kernels.UserError;
import dev.stitch.kernels.reference.ReferenceBackend;
import dev.stitch.engine.Ctx;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text tower of the CLIP score model: engine's ClipTextModel, pooled at EOS as transformers pools. */
class ClipTextTowerTest {
    static final ClipModel LEGACY = ClipModel.load(Golden.resource("clip/tiny-clip")),
        REAL_EOS = ClipModel.load(Golden.resource("clip/tiny-clip-gelu"));

    @Test
    void legacyEosIdPoolsAtTheFirstLargestId() {
        assertEquals(2, LEGACY.config.text().eosTokenId());
        assertEquals(3, LEGACY.textModel.eosPosition(new int[]{298, 5, 7, 299, 299, 299}));
        assertEquals(2, LEGACY.textModel.eosPosition(new int[]{298, 5, 299, 0, 0}));
        assertEquals(0, LEGACY.textModel.eosPosition(new int[]{298, 5, 7}));   // no EOS: the largest id is BOS
    }

    @Test
    void realEosIdPoolsAtItsFirstOccurrence() {
        assertEquals(299, REAL_EOS.config.text().eosTokenId());
        assertEquals(3, REAL_EOS.textModel.eosPosition(new int[]{298, 5, 7, 299, 299, 299}));
        assertEquals(0, REAL_EOS.textModel.eosPosition(new int[]{298, 5, 7}));   // as torch's argmax of all-false
    }

    @Test
    void idsOutsideTheVocabularyOrTooLongAreRefused() {
        Ctx c = new Ctx(ReferenceBackend.INSTANCE);
        String m = assertThrows(UserError.class, () -> LEGACY.textEmbeds(c, new int[][]{{298, 300, 299}})).getMessage();
        assertTrue(m.contains("token id 300 is outside its vocabulary of 300"), m);
        m = assertThrows(UserError.class, () -> LEGACY.textEmbeds(c, new int[][]{new int[78]})).getMessage();
        assertTrue(m.contains("sequences of 78 tokens, expected 1..77"), m);
    }

    @Test
    void embeddingsAreUnitVectorsAndDoNotDependOnTheBatch() {
        Ctx c = new Ctx(ReferenceBackend.INSTANCE);
        int[] a = {298, 17, 42, 299, 299}, b = {298, 99, 299, 0, 0};
        float[][] both = LEGACY.textEmbeds(c, new int[][]{a, b});
        float[][] alone = LEGACY.textEmbeds(c, new int[][]{b});
        double norm = 0;
        for (float v : both[0]) norm += v * v;
        assertEquals(1, norm, 1e-5);
        Golden.assertClose("text embeds batch of 1 vs 2", alone[0], both[1], 1e-6);
    }
}
