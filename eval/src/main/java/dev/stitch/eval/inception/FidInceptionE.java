package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * pytorch-fid's FIDInceptionE_1 (Mixed_7b) and FIDInceptionE_2 (Mixed_7c): 1×1 | 1×1→[1×3, 3×1] |
 * 1×1→3×3→[1×3, 3×1] | 3×3 pool→1×1. E_1 average-pools without counting padded zeros; E_2 max-pools, a quirk of
 * the TensorFlow graph the FID weights come from.
 */
final class FidInceptionE {
    final String name;
    final BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b;
    final BasicConv2d branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branchPool;
    final boolean maxPool;
    final int outChannels;

    FidInceptionE(Weights w, InceptionV3.Width width, int in, boolean maxPool) {
        name = w.tapName();
        this.maxPool = maxPool;
        int c320 = width.of(320), c384 = width.of(384), c448 = width.of(448), c192 = width.of(192);
        branch1x1 = new BasicConv2d(w.pp("branch1x1"), in, c320, 1, 1, 0);
        branch3x3_1 = new BasicConv2d(w.pp("branch3x3_1"), in, c384, 1, 1, 0);
        branch3x3_2a = new BasicConv2d(w.pp("branch3x3_2a"), c384, c384, 1, 3, 1, 0, 1);
        branch3x3_2b = new BasicConv2d(w.pp("branch3x3_2b"), c384, c384, 3, 1, 1, 1, 0);
        branch3x3dbl_1 = new BasicConv2d(w.pp("branch3x3dbl_1"), in, c448, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(w.pp("branch3x3dbl_2"), c448, c384, 3, 1, 1);
        branch3x3dbl_3a = new BasicConv2d(w.pp("branch3x3dbl_3a"), c384, c384, 1, 3, 1, 0, 1);
        branch3x3dbl_3b = new BasicConv2d(w.pp("branch3x3dbl_3b"), c384, c384, 3, 1, 1, 1, 0);
        branchPool = new BasicConv2d(w.pp("branch_pool"), in, c192, 1, 1, 0);
        outChannels = c320 + 4 * c384 + c192;
    }

    Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor b1 = branch1x1.forward(c, x);
        Tensor b3 = branch3x3_1.forward(c, x);
        Tensor bd = branch3x3dbl_2.forward(c, branch3x3dbl_1.forward(c, x));
        Tensor pooled = maxPool ? ops.maxPool2d(x, 3, 1, 1) : ops.avgPool2d(x, 3, 1, 1, false);
        return c.tap(name, TapLayout.NCHW, ops.concat(1, b1, branch3x3_2a.forward(c, b3), branch3x3_2b.forward(c, b3),
            branch3x3dbl_3a.forward(c, bd), branch3x3dbl_3b.forward(c, bd), branchPool.forward(c, pooled)));
    }
}
