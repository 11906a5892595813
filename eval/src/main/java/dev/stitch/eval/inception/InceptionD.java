package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/** torchvision's InceptionD (Mixed_7a), the 17→8 reduction: 1×1→3×3/2 | 1×1→1×7→7×1→3×3/2 | 3×3/2 max pool. */
final class InceptionD {
    final String name;
    final BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;
    final int outChannels;

    InceptionD(Weights w, InceptionV3.Width width, int in) {
        name = w.tapName();
        int c192 = width.of(192), c320 = width.of(320);
        branch3x3_1 = new BasicConv2d(w.pp("branch3x3_1"), in, c192, 1, 1, 0);
        branch3x3_2 = new BasicConv2d(w.pp("branch3x3_2"), c192, c320, 3, 2, 0);
        branch7x7x3_1 = new BasicConv2d(w.pp("branch7x7x3_1"), in, c192, 1, 1, 0);
        branch7x7x3_2 = new BasicConv2d(w.pp("branch7x7x3_2"), c192, c192, 1, 7, 1, 0, 3);
        branch7x7x3_3 = new BasicConv2d(w.pp("branch7x7x3_3"), c192, c192, 7, 1, 1, 3, 0);
        branch7x7x3_4 = new BasicConv2d(w.pp("branch7x7x3_4"), c192, c192, 3, 2, 0);
        outChannels = c320 + c192 + in;
    }

    Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor b3 = branch3x3_2.forward(c, branch3x3_1.forward(c, x));
        Tensor b7 = branch7x7x3_4.forward(c, branch7x7x3_3.forward(c, branch7x7x3_2.forward(c, branch7x7x3_1.forward(c, x))));
        return c.tap(name, TapLayout.NCHW, ops.concat(1, b3, b7, ops.maxPool2d(x, 3, 2, 0)));
    }
}
