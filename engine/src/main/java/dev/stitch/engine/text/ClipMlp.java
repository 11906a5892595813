package dev.stitch.engine.text;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.nn.Linear;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.kernels.Activation;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;

/** transformers' CLIPMLP: fc1, activation, fc2. */
public final class ClipMlp {
    /** quick_gelu(x) = x·sigmoid(1.702x) = silu(1.702x) / 1.702, so the op set needs no extra activation. */
    private static final float QUICK_GELU_ALPHA = 1.702f;

    public final String name;
    final Linear fc1, fc2;
    final boolean quickGelu;

    /** {@code act}: {@link ClipTextConfig#GELU} or {@link ClipTextConfig#QUICK_GELU}. */
    public ClipMlp(Weights w, int hidden, int intermediate, String act) {
        this.name = w.tapName();
        fc1 = new Linear(w.pp("fc1"), hidden, intermediate, true);
        fc2 = new Linear(w.pp("fc2"), intermediate, hidden, true);
        quickGelu = act.equals(ClipTextConfig.QUICK_GELU);
    }

    public Tensor forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        Tensor h = quickGelu
            ? ops.scale(ops.silu(ops.scale(fc1.forward(c, x), QUICK_GELU_ALPHA)), 1 / QUICK_GELU_ALPHA)
            : fc1.forward(c, x, Activation.GELU);
        return c.tap(name, TapLayout.NLC, fc2.forward(c, h));
    }
}
