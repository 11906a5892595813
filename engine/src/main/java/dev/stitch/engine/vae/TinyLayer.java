package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Tensor;

import java.util.Arrays;
import java.util.function.BiFunction;

/** One entry of EncoderTiny's and DecoderTiny's {@code nn.Sequential layers}: its forward, tapped under its module path. */
interface TinyLayer {
    Tensor forward(Ctx c, Tensor x);

    /** {@code f} tapped as {@code w}'s module ({@code vae.decoder.layers.5}). */
    static TinyLayer of(Weights w, BiFunction<Ctx, Tensor, Tensor> f) {
        String name = w.tapName();
        return (c, x) -> c.tap(name, TapLayout.NCHW, f.apply(c, x));
    }

    /** A block taps itself. */
    static TinyLayer of(AutoencoderTinyBlock block) { return block::forward; }

    /** x + s on every value of x [B, C, H, W], as the backend's per-channel add. */
    static Tensor shift(Ctx c, Tensor x, float s) {
        float[] v = new float[x.dim(0) * x.dim(1)];
        Arrays.fill(v, s);
        return c.ops().addChannels(x, c.ops().fromHost(v, x.dim(0), x.dim(1)));
    }
}
