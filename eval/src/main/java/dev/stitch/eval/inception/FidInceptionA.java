package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * pytorch-fid's FIDInceptionA (Mixed_5b..5d): 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | 3×3 average pool→1×1, concatenated.
 * The pool leaves padded zeros out of the average ({@code count_include_pad=False}), as TensorFlow's did.
 */
final class FidInceptionA {
    final String name;
    final BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branchPool;
    final int outChannels;

    FidInceptionA(Weights w, InceptionV3.Width width, int in, int poolFeatures) {
        name = w.tapName();
        int c64 = width.of(64), c48 = width.of(48), c96 = width.of(96), pool = width.of(poolFeatures);
        branch1x1 = new BasicConv2d(w.pp("branch1x1"), in, c64, 1, 1, 0);
        branch5x5_1 = new BasicConv2d(w.pp("branch5x5_1"), in, c48, 1, 1, 0);
        branch5x5_2 = new BasicConv2d(w.pp("branch5x5_2"), c48, c64, 5, 1, 2);
        branch3x3dbl_1 = new BasicConv2d(w.pp("branch3x3dbl_1"), in, c64, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(w.pp("branch3x3dbl_2"), c64, c96, 3, 1, 1);
        branch3x3dbl_3 = new BasicConv2d(w.pp("branch3x3dbl_3"), c96, c96, 3, 1, 1);
        branchPool = new BasicConv2d(w.pp("branch_pool"), in, pool, 1, 1, 0);
        outChannels = c64 + c64 + c96 + pool;
    }

    Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor b1 = branch1x1.forward(c, x);
        Tensor b5 = branch5x5_2.forward(c, branch5x5_1.forward(c, x));
        Tensor b3 = branch3x3dbl_3.forward(c, branch3x3dbl_2.forward(c, branch3x3dbl_1.forward(c, x)));
        Tensor bp = branchPool.forward(c, ops.avgPool2d(x, 3, 1, 1, false));
        return c.tap(name, TapLayout.NCHW, ops.concat(1, b1, b5, b3, bp));
    }
}
