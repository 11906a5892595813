package dev.stitch.cli;

import dev.stitch.kernels.UserError;
import dev.stitch.engine.io.SafeTensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code stitch inspect FILE|DIR}: tensors (name, dtype, shape, bytes) and metadata of safetensors files. */
@Command(name = "inspect", description = "List the tensors and metadata of a .safetensors file or of every one in a folder.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE|DIR") Path target;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(target)) throw new UserError(target + ": no such file or folder");
        List<Path> files;
        if (Files.isDirectory(target)) {
            try (Stream<Path> s = Files.walk(target)) {
                files = s.filter(p -> p.toString().endsWith(".safetensors") && Files.isRegularFile(p)).sorted().toList();
            }
            if (files.isEmpty()) throw new UserError(target + ": no .safetensors files in this folder");
        } else files = List.of(target);
        for (Path f : files) print(f);
        return 0;
    }

    private static void print(Path f) {
        SafeTensors st = SafeTensors.open(f);
        long total = 0;
        System.out.println(f);
        int w = st.names().stream().mapToInt(String::length).max().orElse(4);
        for (String n : st.names()) {
            var e = st.entry(n);
            long bytes = e.end() - e.begin();
            total += bytes;
            System.out.printf("  %-" + w + "s  %-4s  %-20s  %,d%n", n, e.dtype(), Arrays.toString(e.shape()), bytes);
        }
        System.out.printf("  %d tensors, %,d bytes%n", st.names().size(), total);
        if (!st.metadata().isEmpty()) {
            System.out.println("  metadata:");
            st.metadata().forEach((k, v) -> System.out.println("    " + k + " = " + v));
        }
    }
}
