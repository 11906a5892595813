package dev.stitch.kernels;

import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationTest {
    @Test
    void reluKeepsPositivesZeroesNegativesAndPropagatesNaN() {
        assertEquals(2.5f, Activation.RELU.apply(2.5f));
        assertEquals(0f, Activation.RELU.apply(-3f));
        assertEquals(0f, Activation.RELU.apply(0f));
        assertTrue(Float.isNaN(Activation.RELU.apply(Float.NaN)));
    }

    @Test
    void reluFusedIntoTheReferenceConv() {
        // 1×1 conv with weight 1 and bias -0.5: relu(x - 0.5).
        Tensor x = Tensor.of(new float[]{0.2f, 0.9f, -1f, 3f}, 1, 1, 2, 2);
        Tensor y = ReferenceBackend.INSTANCE.conv2d(x, Tensor.of(new float[]{1}, 1, 1, 1, 1), Tensor.of(new float[]{-0.5f}, 1),
            1, 0, 0, 0, 0, Activation.RELU);
        assertArrayEquals(new float[]{0f, 0.4f, 0f, 2.5f}, y.data(), 1e-7f);
    }
}
