package dev.stitch.engine.vae;

import dev.stitch.engine.Ctx;
import dev.stitch.engine.io.SafeTensors;
import dev.stitch.engine.taps.Taps;
import dev.stitch.kernels.Backend;
import dev.stitch.kernels.Tensor;
import dev.stitch.kernels.cpu.CpuBackend;
import dev.stitch.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static dev.stitch.engine.vae.AutoencoderKLGoldenTest.CONFORMANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tiny AutoencoderTiny against diffusers' own (conformance/golden/README.md (h)): encode and decode, and the
 * outputs of the {@code layers} entries diffusers' forward hooks caught, on the reference and cpu backends.
 */
class AutoencoderTinyGoldenTest {
    static AutoencoderTiny vae;
    static SafeTensors encodeGolden, decodeGolden;

    @BeforeAll
    static void load() {
        assumeTrue(Files.isDirectory(CONFORMANCE.resolve("tiny-taesd")), "conformance data not found at " + CONFORMANCE);
        vae = assertInstanceOf(AutoencoderTiny.class, Vae.load(CONFORMANCE.resolve("tiny-taesd")));   // by _class_name
        encodeGolden = SafeTensors.open(CONFORMANCE.resolve("golden/taesd_encode.safetensors"));
        decodeGolden = SafeTensors.open(CONFORMANCE.resolve("golden/taesd_decode.safetensors"));
    }

    static List<Backend> backends() { return List.of(ReferenceBackend.INSTANCE, CpuBackend.shared()); }

    /** Records every tap's name and a host copy of its value, in call order. */
    static Taps recorder(Backend ops, Map<String, Tensor> into) {
        return (name, layout, value, call) -> {
            if (into.put(name, Tensor.of(ops.toHost(value).clone(), value.shape())) != null) throw new AssertionError("tap " + name + " called twice");
            return value;
        };
    }

    @ParameterizedTest
    @MethodSource("backends")
    void encodeMatchesDiffusers(Backend ops) {
        Map<String, Tensor> taps = new LinkedHashMap<>();
        Tensor latents = vae.encode(new Ctx(ops, recorder(ops, taps)), ops.fromHost(encodeGolden.floats("x"), encodeGolden.tensor("x").shape()), null);
        AutoencoderKLGoldenTest.assertClose(ops.name() + " taesd encode", encodeGolden.tensor("latents"), Tensor.of(ops.toHost(latents), latents.shape()));
        assertEquals(IntStream.range(0, 15).mapToObj(i -> "vae.encoder.layers." + i).toList(), List.copyOf(taps.keySet()));
        for (String name : encodeGolden.names())
            if (name.startsWith("act."))
                AutoencoderKLGoldenTest.assertClose(ops.name() + " " + name, encodeGolden.tensor(name), taps.get("vae." + name.substring(4)));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void decodeMatchesDiffusers(Backend ops) {
        Map<String, Tensor> taps = new LinkedHashMap<>();
        Tensor out = vae.decode(new Ctx(ops, recorder(ops, taps)), ops.fromHost(decodeGolden.floats("z"), decodeGolden.tensor("z").shape()));
        AutoencoderKLGoldenTest.assertClose(ops.name() + " taesd decode", decodeGolden.tensor("out"), Tensor.of(ops.toHost(out), out.shape()));
        assertEquals(IntStream.range(0, 19).mapToObj(i -> "vae.decoder.layers." + i).toList(), List.copyOf(taps.keySet()));
        for (String name : decodeGolden.names())
            if (name.startsWith("act."))
                AutoencoderKLGoldenTest.assertClose(ops.name() + " " + name, decodeGolden.tensor(name), taps.get("vae." + name.substring(4)));
    }
}
