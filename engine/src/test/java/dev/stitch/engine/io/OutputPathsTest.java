package dev.stitch.engine.io;

import dev.stitch.kernels.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.stitch.engine.io.OutputPaths.input;
import static org.junit.jupiter.api.Assertions.*;

class OutputPathsTest {
    private static String refused(Path out, OutputPaths.Input... in) {
        UserError e = assertThrows(UserError.class, () -> OutputPaths.check("--out", out, in));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("--out " + out + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void theSameFileUnderAnyNameIsRefused(@TempDir Path dir) throws Exception {
        Path w = Files.writeString(dir.resolve("w.safetensors"), "weights");
        assertTrue(refused(w, input("--steer", w)).contains("is the same file as the input --steer " + w));
        refused(dir.resolve("sub/../w.safetensors"), input("--steer", w));
        Path link = Files.createSymbolicLink(dir.resolve("link.safetensors"), w);
        refused(link, input("--steer", w));
        Path linkedDir = Files.createSymbolicLink(dir.resolve("alias"), dir);
        refused(linkedDir.resolve("w.safetensors"), input("--steer", w));
        Path hard = Files.createLink(dir.resolve("hard.safetensors"), w);
        refused(hard, input("--steer", w));
    }

    @Test
    void aFolderHoldingAnInputOrInsideAnInputFolderIsRefused(@TempDir Path dir) throws Exception {
        Path d = Files.createDirectories(dir.resolve("D"));
        Path src = Files.writeString(d.resolve("x.safetensors"), "checkpoint");
        assertTrue(refused(d, input("--from", src)).contains("would replace a folder that holds the input --from"));
        Path model = Files.createDirectories(dir.resolve("model/unet"));
        assertTrue(refused(model.resolve("new.safetensors"), input("--model", model.getParent())).contains("lies inside the input --model"));
        refused(model.getParent().resolve("not-yet/deeper/t.safetensors"), input("--model", model.getParent()));
    }

    @Test
    void unrelatedPathsAndMissingInputsPass(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path w = Files.writeString(dir.resolve("w.safetensors"), "weights");
        OutputPaths.check("--out", dir.resolve("out.png"), input("--model", model), input("--steer", w), input("--tokenizer", null));
        OutputPaths.check("--out", dir.resolve("model-2/out.png"), input("--model", model));   // a sibling with a longer name
        OutputPaths.check("--out", null, input("--model", model));
        // a file input's name as a folder prefix is not "inside" it
        OutputPaths.check("--out", dir.resolve("w.safetensors.d/x"), input("--steer", w));
    }
}
