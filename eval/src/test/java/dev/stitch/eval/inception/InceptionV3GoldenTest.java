package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.eval.Golden;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A 1/16-width FID Inception-v3 against pytorch-fid's forward on torchvision's blocks (make_eval_goldens.py). */
class InceptionV3GoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void poolFeaturesMatchPytorchFid(String device) {
        InceptionV3 net = InceptionV3.load(Golden.resource("inception/tiny_fid_inception.safetensors"));
        assertEquals(16, net.width.divisor());
        assertEquals(128, net.features);
        SafeTensors g = Golden.open("inception/fid_inception_golden.safetensors");
        Map<String, int[]> taps = new LinkedHashMap<>();
        Ctx c = new Ctx(Backends.byName(device), (name, layout, value, call) -> {
            taps.put(name, value.shape());
            return value;
        });
        float[][] features = net.poolFeatures(c, g.tensor("images"));
        Golden.assertClose("fid inception pool features " + device, g.tensor("pool_features").data(), Golden.flat(features), Golden.TOLERANCE);

        List<String> blocks = new ArrayList<>();
        for (String t : taps.keySet()) if (!t.contains(".branch")) blocks.add(t);
        assertEquals(List.of("inception.Conv2d_1a_3x3", "inception.Conv2d_2a_3x3", "inception.Conv2d_2b_3x3",
            "inception.Conv2d_3b_1x1", "inception.Conv2d_4a_3x3", "inception.Mixed_5b", "inception.Mixed_5c",
            "inception.Mixed_5d", "inception.Mixed_6a", "inception.Mixed_6b", "inception.Mixed_6c", "inception.Mixed_6d",
            "inception.Mixed_6e", "inception.Mixed_7a", "inception.Mixed_7b", "inception.Mixed_7c", "inception.avgpool"), blocks);
        // The real model's shapes divided by 16 in channels: 299 → 149 → 147 → 73 → 71 → 35 → 17 → 8.
        assertArrayEquals(new int[]{2, 2, 149, 149}, taps.get("inception.Conv2d_1a_3x3"));
        assertArrayEquals(new int[]{2, 12, 71, 71}, taps.get("inception.Conv2d_4a_3x3"));
        assertArrayEquals(new int[]{2, 16, 35, 35}, taps.get("inception.Mixed_5b"));
        assertArrayEquals(new int[]{2, 48, 17, 17}, taps.get("inception.Mixed_6a"));
        assertArrayEquals(new int[]{2, 80, 8, 8}, taps.get("inception.Mixed_7a"));
        assertArrayEquals(new int[]{2, 128, 8, 8}, taps.get("inception.Mixed_7c"));
        assertArrayEquals(new int[]{2, 128}, taps.get("inception.avgpool"));
        assertArrayEquals(new int[]{2, 12, 8, 8}, taps.get("inception.Mixed_7c.branch_pool"));
    }

    @Test
    void bilinearResizeMatchesTorch() {
        SafeTensors g = Golden.open("preprocessing_golden.safetensors");
        Tensor src = g.tensor("bilinear_src");
        int cases = 0;
        for (int i = 0; g.contains("bilinear" + i + "_out"); i++, cases++) {
            Tensor expected = g.tensor("bilinear" + i + "_out");
            float[] out = BilinearResize.resize(src.data(), 3, src.dim(2), src.dim(3), expected.dim(2), expected.dim(3));
            Golden.assertClose("bilinear 37×53 → " + expected.dim(2) + "×" + expected.dim(3), expected.data(), out, 1e-6);
        }
        assertEquals(4, cases);
    }
}
