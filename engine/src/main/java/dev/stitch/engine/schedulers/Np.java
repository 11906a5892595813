package dev.stitch.engine.schedulers;

/**
 * The few numpy and torch array functions that diffusers builds its schedules with, reproduced with their exact
 * rounding (numpy rounds half to even; {@code np.arange} with a float step fills {@code start + i * delta}), so that
 * timesteps and sigmas come out bit for bit as diffusers' do.
 */
final class Np {
    private Np() {}

    /** {@code np.linspace(start, stop, num)} in float64: {@code start + i * step}, the last value set to stop. */
    static double[] linspace(double start, double stop, int num) {
        double[] y = new double[num];
        double step = (stop - start) / Math.max(1, num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        if (num > 1) y[num - 1] = stop;
        return y;
    }

    /** {@code np.arange(start, stop, step)} for a float step (numpy fills {@code start + i * delta} with delta = (start + step) - start). */
    static double[] arange(double start, double stop, double step) {
        int n = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] y = new double[n];
        if (n == 0) return y;
        y[0] = start;
        if (n > 1) y[1] = start + step;
        double delta = (start + step) - start;
        for (int i = 2; i < n; i++) y[i] = start + i * delta;
        return y;
    }

    /** {@code np.round}: half to even. */
    static double[] round(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.rint(x[i]);
        return y;
    }

    static double[] reverse(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[x.length - 1 - i];
        return y;
    }

    /** {@code np.interp(x, arange(len(fp)), fp)} in float64 (fp widened from float32). */
    static double interp(double x, float[] fp) {
        int last = fp.length - 1;
        if (x <= 0) return fp[0];
        if (x >= last) return fp[last];
        int j = (int) Math.floor(x);
        if (j == x) return fp[j];
        double slope = ((double) fp[j + 1] - fp[j]) / 1.0;
        return slope * (x - j) + fp[j];
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU: the first half counts up from start, the
     * second half down from end, in float, in vectors of 8 ({@code base + k * step} within a vector) as PyTorch's
     * AVX2 kernel does, with the last {@code steps % 16} values computed one by one.
     */
    static float[] torchLinspace(double start, double end, int steps) {
        float s = (float) start, e = (float) end;
        float[] y = new float[steps];
        if (steps == 1) {
            y[0] = s;
            return y;
        }
        float step = (e - s) / (steps - 1);
        int halfway = steps / 2, vectorEnd = steps / 16 * 16;
        for (int i = 0; i < vectorEnd; i += 8) {
            float base = i < halfway ? Math.fma(step, (float) i, s) : Math.fma(-step, (float) (steps - i - 1), e);
            for (int k = 0; k < 8; k++) y[i + k] = base + k * step;
        }
        for (int i = vectorEnd; i < steps; i++)
            y[i] = i < halfway ? Math.fma(step, (float) i, s) : Math.fma(-step, (float) (steps - i - 1), e);
        return y;
    }
}
