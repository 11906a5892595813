package dev.stitch.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapesTest {
    private static Tensor t(int... shape) { return Tensor.of(new float[Math.toIntExact(Tensor.count(shape))], shape); }

    @Test
    void axesCountFromTheEndAndAreChecked() {
        assertEquals(2, Shapes.axis("op", -1, 3));
        assertEquals(0, Shapes.axis("op", 0, 3));
        var e = assertThrows(IllegalArgumentException.class, () -> Shapes.axis("concat", 3, 3));
        assertEquals("concat: axis 3 of rank 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shapes.axis("slice", -4, 3));
    }

    @Test
    void outerAndInnerSplitTheShapeAroundAnAxis() {
        int[] s = {2, 3, 5, 7};
        assertEquals(6, Shapes.outer(s, 2));
        assertEquals(7, Shapes.inner(s, 2));
        assertEquals(1, Shapes.outer(s, 0));
        assertEquals(1, Shapes.inner(s, 3));
    }

    @Test
    void concatAddsTheAxisAndRefusesMismatches() {
        assertArrayEquals(new int[] {2, 9, 4}, Shapes.concat(1, t(2, 3, 4), t(2, 6, 4)));
        var e = assertThrows(IllegalArgumentException.class, () -> Shapes.concat(1, t(2, 3, 4), t(2, 3, 5)));
        assertTrue(e.getMessage().contains("[2, 3, 5] vs [2, 3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shapes.concat(0, t(2, 3), t(2, 3, 1)));
    }

    @Test
    void sliceChecksItsBounds() {
        assertArrayEquals(new int[] {4, 2}, Shapes.slice(t(4, 5), 1, 1, 3));
        assertArrayEquals(new int[] {0, 5}, Shapes.slice(t(4, 5), 0, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Shapes.slice(t(4, 5), 1, 3, 6));
        assertThrows(IllegalArgumentException.class, () -> Shapes.slice(t(4, 5), 1, 3, 2));
    }

    @Test
    void matmulSizesFollowTheTransposes() {
        assertEquals(new Shapes.MatMul(1, 3, 5, 4), Shapes.matmul(t(3, 4), t(4, 5), false, false));
        assertEquals(new Shapes.MatMul(2, 3, 5, 4), Shapes.matmul(t(2, 4, 3), t(2, 5, 4), true, true));
        assertArrayEquals(new int[] {2, 3, 5}, Shapes.matmul(t(2, 4, 3), t(2, 5, 4), true, true).shape(true));
        assertThrows(IllegalArgumentException.class, () -> Shapes.matmul(t(3, 4), t(5, 4), false, false));
        assertThrows(IllegalArgumentException.class, () -> Shapes.matmul(t(2, 3, 4), t(3, 4, 5), false, false));
    }

    @Test
    void conv2dSizesAndRefusals() {
        assertArrayEquals(new int[] {2, 5, 4, 3}, Shapes.conv2d(t(2, 3, 7, 6), t(5, 3, 3, 3), t(5), 2, 1, 1, 1, 0));
        assertArrayEquals(new int[] {1, 4, 9, 9}, Shapes.conv2d(t(1, 2, 9, 9), t(4, 2, 1, 1), null, 1, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Shapes.conv2d(t(1, 3, 5, 5), t(4, 2, 3, 3), null, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Shapes.conv2d(t(1, 3, 5, 5), t(4, 3, 3, 3), t(3), 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Shapes.conv2d(t(1, 3, 2, 2), t(4, 3, 5, 5), null, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Shapes.conv2d(t(1, 3, 5, 5), t(4, 3, 3, 3), null, 0, 1, 1, 1, 1));
    }

    @Test
    void opsAlongAnAxisDropItOrKeepTheShape() {
        assertArrayEquals(new int[] {2, 5}, Shapes.mean(t(2, 3, 5), 1));
        assertArrayEquals(new int[] {2, 3}, Shapes.mean(t(2, 3, 5), -1));
        assertArrayEquals(new int[] {2, 5}, Shapes.project(t(2, 3, 5), 1, t(3)));
        assertArrayEquals(new int[] {2, 3, 5}, Shapes.alongRows("addDirection", t(2, 3, 5), 2, new int[] {1, 0}, t(5)));
        assertArrayEquals(new int[] {2, 3, 5}, Shapes.alongRows("addDirection", t(2, 3, 5), 1, new int[0], t(3)));
        assertThrows(IllegalArgumentException.class, () -> Shapes.mean(t(2, 0, 5), 1));
        var e = assertThrows(IllegalArgumentException.class, () -> Shapes.alongRows("transport", t(2, 3, 5), 1, new int[] {-1}, t(3)));
        assertEquals("transport: rows [-1] of a batch of 2", e.getMessage());
    }
}
