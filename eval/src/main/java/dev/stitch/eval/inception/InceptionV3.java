package dev.stitch.eval.inception;

import dev.stitch.convert.Checkpoint;
import dev.stitch.convert.StoredTensor;
import dev.stitch.engine.Ctx;
import dev.stitch.engine.Weights;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.TapLayout;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Inception-v3 that FID is defined with: pytorch-fid's {@code InceptionV3} with {@code fid_inception_v3()}
 * (TensorFlow's 2015-12-05 graph ported to torchvision's module tree, weights {@code pt_inception-2015-12-05}),
 * giving the 2048 features of the final average pool. Input as pytorch-fid: images in [0, 1], resized bilinearly to
 * 299×299 ({@code align_corners=False}), scaled to [-1, 1].
 *
 * <p>Every channel count is read from the weights as the real model's divided by one width divisor (1 for the real
 * model), so tiny test models keep the real topology.
 *
 * <p>Taps ({@code inception.} + torchvision's module names): {@code Conv2d_1a_3x3} … {@code Conv2d_4a_3x3},
 * {@code Mixed_5b} … {@code Mixed_7c} and each block's convs ({@code Mixed_5b.branch1x1} …), all [B, C, H, W];
 * {@code avgpool} [B, 2048].
 */
public final class InceptionV3 {
    public static final String COMPONENT = "inception";
    public static final int INPUT_SIZE = 299;

    /** The real model's channel counts divided by {@code divisor}. */
    record Width(int divisor) {
        int of(int channels) { return channels / divisor; }
    }

    final Width width;
    final BasicConv2d conv2d_1a_3x3, conv2d_2a_3x3, conv2d_2b_3x3, conv2d_3b_1x1, conv2d_4a_3x3;
    final FidInceptionA mixed_5b, mixed_5c, mixed_5d;
    final InceptionB mixed_6a;
    final FidInceptionC mixed_6b, mixed_6c, mixed_6d, mixed_6e;
    final InceptionD mixed_7a;
    final FidInceptionE mixed_7b, mixed_7c;
    final String avgpoolName;
    public final int features;

    /** Builds the model; tensors it does not use must be the classifier ({@code fc.*}) or BatchNorm counters. */
    public InceptionV3(Weights w) {
        width = widthOf(w);
        conv2d_1a_3x3 = new BasicConv2d(w.pp("Conv2d_1a_3x3"), 3, width.of(32), 3, 2, 0);
        conv2d_2a_3x3 = new BasicConv2d(w.pp("Conv2d_2a_3x3"), width.of(32), width.of(32), 3, 1, 0);
        conv2d_2b_3x3 = new BasicConv2d(w.pp("Conv2d_2b_3x3"), width.of(32), width.of(64), 3, 1, 1);
        conv2d_3b_1x1 = new BasicConv2d(w.pp("Conv2d_3b_1x1"), width.of(64), width.of(80), 1, 1, 0);
        conv2d_4a_3x3 = new BasicConv2d(w.pp("Conv2d_4a_3x3"), width.of(80), width.of(192), 3, 1, 0);
        mixed_5b = new FidInceptionA(w.pp("Mixed_5b"), width, width.of(192), 32);
        mixed_5c = new FidInceptionA(w.pp("Mixed_5c"), width, mixed_5b.outChannels, 64);
        mixed_5d = new FidInceptionA(w.pp("Mixed_5d"), width, mixed_5c.outChannels, 64);
        mixed_6a = new InceptionB(w.pp("Mixed_6a"), width, mixed_5d.outChannels);
        mixed_6b = new FidInceptionC(w.pp("Mixed_6b"), width, mixed_6a.outChannels, 128);
        mixed_6c = new FidInceptionC(w.pp("Mixed_6c"), width, mixed_6b.outChannels, 160);
        mixed_6d = new FidInceptionC(w.pp("Mixed_6d"), width, mixed_6c.outChannels, 160);
        mixed_6e = new FidInceptionC(w.pp("Mixed_6e"), width, mixed_6d.outChannels, 192);
        mixed_7a = new InceptionD(w.pp("Mixed_7a"), width, mixed_6e.outChannels);
        mixed_7b = new FidInceptionE(w.pp("Mixed_7b"), width, mixed_7a.outChannels, false);
        mixed_7c = new FidInceptionE(w.pp("Mixed_7c"), width, mixed_7b.outChannels, true);
        features = mixed_7c.outChannels;
        avgpoolName = w.pp("avgpool").tapName();
        Set<String> unused = w.unused();
        unused.removeIf(n -> n.startsWith("fc.") || n.endsWith(".num_batches_tracked"));
        if (!unused.isEmpty())
            throw new UserError(w.origin() + ": " + unused.size() + " tensor(s) that the FID Inception-v3 does not have: "
                + String.join(", ", unused.stream().limit(8).toList()) + (unused.size() > 8 ? ", ..." : "")
                + " (expected pytorch-fid's pt_inception-2015-12-05 weights)");
    }

    /**
     * Reads the FID Inception weights with pytorch-fid's tensor names: a {@code .safetensors} file, or the state
     * dict {@code pt_inception-2015-12-05-6726825d.pth} itself if it is in PyTorch's zip format (a legacy-format file
     * is refused with a line saying how to re-save it).
     */
    public static InceptionV3 load(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such file (expected the FID Inception weights, .safetensors or .pth)");
        if (SafeTensors.looksLikeSafeTensors(file)) return new InceptionV3(Weights.of(COMPONENT, SafeTensors.open(file)));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (StoredTensor t : Checkpoint.open(file).tensors().values()) {
            if (t.dtype().computeType() != null) tensors.put(t.name(), Tensor.mapped(t.bytes(), t.dtype().computeType(), intShape(t)));
            else if (!t.name().endsWith(".num_batches_tracked"))   // BatchNorm's step counter, an integer
                throw new UserError(file + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected f32, f16 or bf16");
        }
        return new InceptionV3(Weights.of(COMPONENT, file.toString(), tensors));
    }

    private static int[] intShape(StoredTensor t) {
        int[] s = new int[t.rank()];
        for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(t.dim(i));
        return s;
    }

    /** The divisor that maps the real model's 32 stem channels to this file's. */
    private static Width widthOf(Weights w) {
        String name = "Conv2d_1a_3x3.conv.weight";
        if (!w.has(name)) throw new UserError(w.origin() + ": missing tensor '" + name + "' (expected pytorch-fid's FID Inception weights)");
        int stem = w.get(name).dim(0);
        for (int d : new int[] {1, 2, 4, 8, 16}) if (stem * d == 32) return new Width(d);
        throw new UserError(w.origin() + ": tensor '" + name + "' has " + stem + " output channels, expected 32 (or 32 divided by 2, 4, 8 or 16)");
    }

    /** Pool features [B][features] of 8-bit images of any sizes (each read as torchvision's ToTensor: v / 255). */
    public float[][] poolFeatures(Ctx c, List<RgbImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images");
        int n = 3 * INPUT_SIZE * INPUT_SIZE;
        float[] x = new float[images.size() * n];
        for (int i = 0; i < images.size(); i++) {
            RgbImage im = images.get(i);
            int hw = im.width() * im.height();
            float[] chw = new float[3 * hw];
            for (int p = 0; p < hw; p++)
                for (int ch = 0; ch < 3; ch++) chw[ch * hw + p] = (im.rgb()[p * 3 + ch] & 0xff) / 255f;
            System.arraycopy(toModelInput(chw, im.height(), im.width()), 0, x, i * n, n);
        }
        return forward(c, c.ops().fromHost(x, images.size(), 3, INPUT_SIZE, INPUT_SIZE));
    }

    /** Pool features [B][features] of images [B, 3, H, W] in [0, 1] (host data), as pytorch-fid's forward. */
    public float[][] poolFeatures(Ctx c, Tensor images) {
        if (images.rank() != 4 || images.dim(1) != 3)
            throw new IllegalArgumentException("expected images [B, 3, H, W], got " + Arrays.toString(images.shape()));
        int b = images.dim(0), h = images.dim(2), w = images.dim(3), n = 3 * INPUT_SIZE * INPUT_SIZE;
        float[] src = images.data(), x = new float[b * n];
        for (int i = 0; i < b; i++)
            System.arraycopy(toModelInput(Arrays.copyOfRange(src, i * 3 * h * w, (i + 1) * 3 * h * w), h, w), 0, x, i * n, n);
        return forward(c, c.ops().fromHost(x, b, 3, INPUT_SIZE, INPUT_SIZE));
    }

    /** One image [3, h, w] in [0, 1] → the network's input [3, 299, 299] in [-1, 1]. */
    private static float[] toModelInput(float[] chw, int h, int w) {
        float[] x = BilinearResize.resize(chw, 3, h, w, INPUT_SIZE, INPUT_SIZE);
        for (int i = 0; i < x.length; i++) x[i] = 2 * x[i] - 1;
        return x;
    }

    /** The network on its input [B, 3, 299, 299] → [B][features]. */
    float[][] forward(Ctx c, Tensor x) {
        Backend ops = c.ops();
        x = conv2d_2b_3x3.forward(c, conv2d_2a_3x3.forward(c, conv2d_1a_3x3.forward(c, x)));
        x = ops.maxPool2d(x, 3, 2, 0);
        x = conv2d_4a_3x3.forward(c, conv2d_3b_1x1.forward(c, x));
        x = ops.maxPool2d(x, 3, 2, 0);
        x = mixed_5d.forward(c, mixed_5c.forward(c, mixed_5b.forward(c, x)));
        x = mixed_6a.forward(c, x);
        x = mixed_6e.forward(c, mixed_6d.forward(c, mixed_6c.forward(c, mixed_6b.forward(c, x))));
        x = mixed_7c.forward(c, mixed_7b.forward(c, mixed_7a.forward(c, x)));
        int b = x.dim(0), side = x.dim(2);   // 8×8 for 299×299 inputs
        Tensor pooled = c.tap(avgpoolName, TapLayout.NC, ops.avgPool2d(x, side, side, 0, true).reshape(b, features));
        float[] p = ops.toHost(pooled);
        float[][] out = new float[b][];
        for (int i = 0; i < b; i++) out[i] = Arrays.copyOfRange(p, i * features, (i + 1) * features);
        return out;
    }
}
