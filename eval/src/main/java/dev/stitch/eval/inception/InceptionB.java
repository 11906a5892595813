package dev.stitch.eval.inception;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/** torchvision's InceptionB (Mixed_6a), the 35→17 reduction: 3×3/2 | 1×1→3×3→3×3/2 | 3×3/2 max pool. */
final class InceptionB {
    final String name;
    final BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;
    final int outChannels;

    InceptionB(Weights w, InceptionV3.Width width, int in) {
        name = w.tapName();
        int c384 = width.of(384), c64 = width.of(64), c96 = width.of(96);
        branch3x3 = new BasicConv2d(w.pp("branch3x3"), in, c384, 3, 2, 0);
        branch3x3dbl_1 = new BasicConv2d(w.pp("branch3x3dbl_1"), in, c64, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(w.pp("branch3x3dbl_2"), c64, c96, 3, 1, 1);
        branch3x3dbl_3 = new BasicConv2d(w.pp("branch3x3dbl_3"), c96, c96, 3, 2, 0);
        outChannels = c384 + c96 + in;
    }

    Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor b3 = branch3x3.forward(c, x);
        Tensor bd = branch3x3dbl_3.forward(c, branch3x3dbl_2.forward(c, branch3x3dbl_1.forward(c, x)));
        return c.tap(name, TapLayout.NCHW, ops.concat(1, b3, bd, ops.maxPool2d(x, 3, 2, 0)));
    }
}
