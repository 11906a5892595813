package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' AutoencoderTinyBlock: three 3×3 convs ({@code conv.0}, {@code conv.2}, {@code conv.4}, the activation
 * after the first two), plus the input (or a bias-free 1×1 {@code skip} conv when the width changes), then ReLU.
 */
public final class AutoencoderTinyBlock {
    public final String name;
    final Conv2d conv0, conv2, conv4, skip;   // skip null when in == out (nn.Identity)
    final Activation act;

    public AutoencoderTinyBlock(Weights w, int in, int out, Activation act) {
        this.name = w.tapName();
        this.act = act;
        Weights conv = w.pp("conv");
        conv0 = new Conv2d(conv.pp(0), in, out, 3, 1, 1);
        conv2 = new Conv2d(conv.pp(2), out, out, 3, 1, 1);
        conv4 = new Conv2d(conv.pp(4), out, out, 3, 1, 1);
        skip = in != out ? new Conv2d(w.pp("skip"), in, out, 1, 1, 0, false) : null;
    }

    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = conv4.forward(c, conv2.forward(c, conv0.forward(c, x, act), act));
        Tensor s = skip == null ? x : skip.forward(c, x);
        return c.tap(name, TapLayout.NCHW, c.ops().relu(c.ops().add(h, s)));   // the block's fuse: ReLU whatever act_fn is
    }
}
