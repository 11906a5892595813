package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/**
 * pytorch-fid's FIDInceptionC (Mixed_6b..6e), factorised 7×7s: 1×1 | 1×1→1×7→7×1 | 1×1→7×1→1×7→7×1→1×7 |
 * 3×3 average pool (padded zeros not counted)→1×1.
 */
final class FidInceptionC {
    final String name;
    final BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3;
    final BasicConv2d[] branch7x7dbl;   // _1 .. _5
    final BasicConv2d branchPool;
    final int outChannels;

    FidInceptionC(Weights w, InceptionV3.Width width, int in, int channels7x7) {
        name = w.tapName();
        int c7 = width.of(channels7x7), c192 = width.of(192);
        branch1x1 = new BasicConv2d(w.pp("branch1x1"), in, c192, 1, 1, 0);
        branch7x7_1 = new BasicConv2d(w.pp("branch7x7_1"), in, c7, 1, 1, 0);
        branch7x7_2 = new BasicConv2d(w.pp("branch7x7_2"), c7, c7, 1, 7, 1, 0, 3);
        branch7x7_3 = new BasicConv2d(w.pp("branch7x7_3"), c7, c192, 7, 1, 1, 3, 0);
        branch7x7dbl = new BasicConv2d[] {
            new BasicConv2d(w.pp("branch7x7dbl_1"), in, c7, 1, 1, 0),
            new BasicConv2d(w.pp("branch7x7dbl_2"), c7, c7, 7, 1, 1, 3, 0),
            new BasicConv2d(w.pp("branch7x7dbl_3"), c7, c7, 1, 7, 1, 0, 3),
            new BasicConv2d(w.pp("branch7x7dbl_4"), c7, c7, 7, 1, 1, 3, 0),
            new BasicConv2d(w.pp("branch7x7dbl_5"), c7, c192, 1, 7, 1, 0, 3)};
        branchPool = new BasicConv2d(w.pp("branch_pool"), in, c192, 1, 1, 0);
        outChannels = 4 * c192;
    }

    Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor b1 = branch1x1.forward(c, x);
        Tensor b7 = branch7x7_3.forward(c, branch7x7_2.forward(c, branch7x7_1.forward(c, x)));
        Tensor bd = x;
        for (BasicConv2d conv : branch7x7dbl) bd = conv.forward(c, bd);
        Tensor bp = branchPool.forward(c, ops.avgPool2d(x, 3, 1, 1, false));
        return c.tap(name, TapLayout.NCHW, ops.concat(1, b1, b7, bd, bp));
    }
}
