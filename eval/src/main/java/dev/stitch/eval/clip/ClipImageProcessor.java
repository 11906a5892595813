package dev.stitch.eval.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stitch.engine.image.RgbImage;
import dev.stitch.engine.io.JsonConfig;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.UserError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * transformers' CLIPImageProcessor (the PIL path that CLIP scores are computed with): resize so that the short side
 * is {@code shortestEdge} with PIL's bicubic filter, center crop, rescale by 1/255, normalise by CLIP's mean and std.
 * The resize reproduces Pillow's 8-bit resampler exactly (same coefficients, fixed point, rounding and pass order),
 * since its output is rounded to bytes and a one-level difference would move the pixel values by 0.015.
 */
public record ClipImageProcessor(boolean doResize, int shortestEdge, boolean doCenterCrop, int cropHeight, int cropWidth,
                                 boolean doRescale, double rescaleFactor, boolean doNormalize, float[] imageMean, float[] imageStd) {

    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};
    static final int PIL_BICUBIC = 3;

    public ClipImageProcessor {
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
        if (imageMean.length != 3 || imageStd.length != 3) throw new UserError("image_mean and image_std need 3 values each");
        for (float s : imageStd) if (!(s > 0)) throw new UserError("image_std values must be positive");
    }

    /** CLIP's preprocessing for square inputs of {@code size} (what openai's preprocessor_config.json says for 224). */
    public static ClipImageProcessor defaults(int size) {
        return new ClipImageProcessor(true, size, true, size, size, true, 1 / 255.0, true, CLIP_MEAN, CLIP_STD);
    }

    /**
     * Reads a {@code preprocessor_config.json}; keys left out take CLIPImageProcessor's defaults, with {@code size} and
     * {@code crop_size} defaulting to {@code imageSize}. Old files give sizes as plain integers, new ones as objects.
     */
    public static ClipImageProcessor read(Path file, int imageSize) {
        JsonConfig r = JsonConfig.read(file);
        int resample = r.integer("resample", PIL_BICUBIC);
        if (resample != PIL_BICUBIC) throw r.wrong("resample", "3 (bicubic; other filters are not implemented)");
        int shortest = imageSize;
        JsonNode size = r.node("size");
        if (size != null) {
            if (size.isIntegralNumber()) shortest = size.intValue();
            else if (size.isObject() && size.path("shortest_edge").isIntegralNumber() && size.size() == 1) shortest = size.get("shortest_edge").intValue();
            else throw r.wrong("size", "an integer or {\"shortest_edge\": n} (CLIP resizes the short side)");
        }
        int ch = imageSize, cw = imageSize;
        JsonNode crop = r.node("crop_size");
        if (crop != null) {
            if (crop.isIntegralNumber()) ch = cw = crop.intValue();
            else if (crop.isObject() && crop.path("height").isIntegralNumber() && crop.path("width").isIntegralNumber()) {
                ch = crop.get("height").intValue();
                cw = crop.get("width").intValue();
            } else throw r.wrong("crop_size", "an integer or {\"height\": h, \"width\": w}");
        }
        if (shortest <= 0 || ch <= 0 || cw <= 0) throw r.wrong(shortest <= 0 ? "size" : "crop_size", "positive");
        try {
            return new ClipImageProcessor(r.bool("do_resize", true), shortest, r.bool("do_center_crop", true), ch, cw,
                r.bool("do_rescale", true), r.number("rescale_factor", 1 / 255.0), r.bool("do_normalize", true),
                r.numbers("image_mean", 3, CLIP_MEAN), r.numbers("image_std", 3, CLIP_STD));
        } catch (UserError e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }

    /** {@link #read} if the folder has a {@code preprocessor_config.json}, else {@link #defaults}. */
    public static ClipImageProcessor forModel(Path dir, int imageSize) {
        Path file = dir.resolve("preprocessor_config.json");
        return Files.exists(file) ? read(file, imageSize) : defaults(imageSize);
    }

    /** The pixel values of a batch, [B, 3, H, W] on the host; every image must come out at the same size. */
    public Tensor pixelValues(List<RgbImage> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images");
        RgbImage first = resizeAndCrop(images.getFirst());
        int h = first.height(), w = first.width(), n = 3 * h * w;
        float[] out = new float[images.size() * n];
        for (int i = 0; i < images.size(); i++) {
            RgbImage im = i == 0 ? first : resizeAndCrop(images.get(i));
            if (im.width() != w || im.height() != h)
                throw new IllegalArgumentException("image " + i + " comes out at " + im.width() + "×" + im.height() + ", image 0 at " + w + "×" + h
                    + " (turn center crop on to batch images of different shapes)");
            normalize(im, out, i * n);
        }
        return Tensor.of(out, images.size(), 3, h, w);
    }

    /** The 8-bit stages: short side to {@code shortestEdge} (if doResize), then the center crop (if doCenterCrop). */
    public RgbImage resizeAndCrop(RgbImage im) {
        if (doResize) {
            int w = im.width(), h = im.height();
            int shortSide = Math.min(w, h), longSide = Math.max(w, h);
            int newLong = (int) ((double) ((long) shortestEdge * longSide) / shortSide);   // Python's int(size * long / short)
            im = w <= h ? resizeBicubic(im, shortestEdge, newLong) : resizeBicubic(im, newLong, shortestEdge);
        }
        return doCenterCrop ? centerCrop(im, cropHeight, cropWidth) : im;
    }

    /** rescale then normalise, in float32 as numpy does (the rescale product in float64, then narrowed). */
    private void normalize(RgbImage im, float[] out, int offset) {
        int hw = im.width() * im.height();
        byte[] px = im.rgb();
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < hw; p++) {
                int v = px[p * 3 + c] & 0xff;
                float f = doRescale ? (float) (v * rescaleFactor) : v;
                out[offset + c * hw + p] = doNormalize ? (f - imageMean[c]) / imageStd[c] : f;
            }
    }

    /** transformers' center_crop: offsets {@code (size - crop) // 2} (floor), zeros where the crop leaves the image. */
    static RgbImage centerCrop(RgbImage im, int ch, int cw) {
        int top = Math.floorDiv(im.height() - ch, 2), left = Math.floorDiv(im.width() - cw, 2);
        byte[] out = new byte[ch * cw * 3];
        for (int y = 0; y < ch; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= im.height()) continue;
            for (int x = 0; x < cw; x++) {
                int sx = x + left;
                if (sx >= 0 && sx < im.width()) System.arraycopy(im.rgb(), (sy * im.width() + sx) * 3, out, (y * cw + x) * 3, 3);
            }
        }
        return new RgbImage(cw, ch, out);
    }

    // ---- Pillow's resampler (libImaging/Resample.c), 8 bits per channel, bicubic ------------------------------------

    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's {@code Image.resize((outW, outH), Image.BICUBIC)} of an RGB image, bit for bit. */
    public static RgbImage resizeBicubic(RgbImage im, int outW, int outH) {
        if (outW <= 0 || outH <= 0) throw new IllegalArgumentException("resize to " + outW + "×" + outH);
        if (outW == im.width() && outH == im.height()) return im;
        Coefficients vertical = Coefficients.of(im.height(), outH);
        // Only the source rows the vertical pass reads are resampled horizontally.
        int firstRow = vertical.bounds[0], lastRow = vertical.bounds[2 * outH - 2] + vertical.bounds[2 * outH - 1];
        byte[] src = im.rgb();
        int width = im.width(), rowOffset = 0;
        if (outW != im.width()) {
            Coefficients horizontal = Coefficients.of(im.width(), outW);
            byte[] tmp = new byte[(lastRow - firstRow) * outW * 3];
            for (int y = 0; y < lastRow - firstRow; y++)
                for (int x = 0; x < outW; x++) {
                    int min = horizontal.bounds[2 * x], count = horizontal.bounds[2 * x + 1], k = x * horizontal.size;
                    int base = ((y + firstRow) * width + min) * 3;
                    for (int c = 0; c < 3; c++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int i = 0; i < count; i++) ss += (src[base + i * 3 + c] & 0xff) * horizontal.k[k + i];
                        tmp[(y * outW + x) * 3 + c] = clip8(ss);
                    }
                }
            src = tmp;
            width = outW;
            rowOffset = firstRow;
        }
        if (outH == im.height()) return new RgbImage(width, outH, src);
        byte[] out = new byte[outH * width * 3];
        for (int y = 0; y < outH; y++) {
            int min = vertical.bounds[2 * y] - rowOffset, count = vertical.bounds[2 * y + 1], k = y * vertical.size;
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < count; i++) ss += (src[((min + i) * width + x) * 3 + c] & 0xff) * vertical.k[k + i];
                    out[(y * width + x) * 3 + c] = clip8(ss);
                }
        }
        return new RgbImage(width, outH, out);
    }

    private static byte clip8(int ss) { return (byte) Math.clamp(ss >> PRECISION_BITS, 0, 255); }

    /** Pillow's bicubic kernel (a = -0.5), in double as there. */
    private static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0) x = -x;
        if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /**
     * Pillow's precompute_coeffs + normalize_coeffs_8bpc: for each output index, the first input index and count
     * ({@code bounds}) and {@code size} fixed-point weights. When shrinking, the kernel is widened by the scale
     * (antialiasing).
     */
    private record Coefficients(int size, int[] bounds, int[] k) {
        static Coefficients of(int inSize, int outSize) {
            double scale = (double) (float) inSize / outSize, filterScale = Math.max(scale, 1.0);
            double support = 2.0 * filterScale;
            int size = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[outSize * 2], k = new int[outSize * size];
            double[] w = new double[size];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale, ww = 0, ss = 1.0 / filterScale;
                int min = Math.max((int) (center - support + 0.5), 0);
                int count = Math.min((int) (center + support + 0.5), inSize) - min;
                for (int x = 0; x < count; x++) {
                    w[x] = bicubic((x + min - center + 0.5) * ss);
                    ww += w[x];
                }
                for (int x = 0; x < count; x++) {
                    double v = ww != 0 ? w[x] / ww : w[x];
                    k[xx * size + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                bounds[2 * xx] = min;
                bounds[2 * xx + 1] = count;
            }
            return new Coefficients(size, bounds, k);
        }
    }
}
