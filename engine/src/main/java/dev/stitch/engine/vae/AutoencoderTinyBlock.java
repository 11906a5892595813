package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Conv2d;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Tensor;

/**
 * diffusers' AutoencoderTinyBlock: three 3×3 convs ({@code conv.0}, {@code conv.2}, {@code conv.4}, the activation
 * after the first two), plus the input, then ReLU. EncoderTiny and DecoderTiny only build blocks that keep their
 * width, so diffusers' 1×1 {@code skip} conv (for a width change) never exists.
 */
public final class AutoencoderTinyBlock {
    public final String name;
    final Conv2d conv0, conv2, conv4;
    final Activation act;

    public AutoencoderTinyBlock(Weights w, int channels, Activation act) {
        this.name = w.tapName();
        this.act = act;
        Weights conv = w.pp("conv");
        conv0 = new Conv2d(conv.pp(0), channels, channels, 3, 1, 1);
        conv2 = new Conv2d(conv.pp(2), channels, channels, 3, 1, 1);
        conv4 = new Conv2d(conv.pp(4), channels, channels, 3, 1, 1);
    }

    public Tensor forward(Ctx c, Tensor x) {
        Tensor h = conv4.forward(c, conv2.forward(c, conv0.forward(c, x, act), act));
        return c.tap(name, TapLayout.NCHW, c.ops().relu(c.ops().add(h, x)));   // the block's fuse: ReLU whatever act_fn is
    }
}
