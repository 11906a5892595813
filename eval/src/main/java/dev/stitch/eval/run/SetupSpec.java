package dev.stitch.eval.run;

import dev.stitch.engine.taps.StepSet;
import dev.stitch.engine.taps.TapPattern;
import dev.stitch.kernels.UserError;
import dev.stitch.steering.Operator;
import dev.stitch.steering.SteeringFile;
import dev.stitch.steering.SteeringPlan;
import dev.stitch.steering.TokenSelection;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One steered setup with its own schedule, written as {@code key=value} entries separated by commas:
 * {@code name=late-add,file=v.safetensors,strength=4,op=add,window=0-9,half=cond,taps=unet.up_blocks.*} (and
 * {@code preserve-norm=true}, {@code tokens=eos}). A value may
 * hold commas itself ({@code window=0,5,10-19}, {@code taps=unet.mid_block,unet.up_blocks.*}): a part without '='
 * continues the value before it. Only {@code file} is required; what is left out is the file's own default (as for
 * {@code --steer}), and {@code taps} keeps every tap of the file.
 *
 * @param name     how the setup is named in scores, summary and report (null: "file@strength")
 * @param strength null: the file's default
 * @param operator null: the file's
 * @param window   the steps to steer as written (null: the file's)
 * @param half     null: the file's
 * @param taps     a tap glob choosing some of the file's taps (null: all of them)
 * @param tokens   the token positions of text-encoder taps steered: all, last, eos or positions (UNet taps: every one)
 */
public record SetupSpec(String text, String name, Path file, Float strength, Operator operator, String window,
                        SteeringPlan.Half half, String taps, boolean preserveNorm, TokenSelection tokens) {

    /** The keys a setup may have: a closed set, so a misspelt key is refused instead of silently ignored. */
    public enum Key {
        NAME("name"), FILE("file"), STRENGTH("strength"), OP("op"), WINDOW("window"), HALF("half"), TAPS("taps"),
        PRESERVE_NORM("preserve-norm"), TOKENS("tokens");

        public final String key;

        Key(String key) { this.key = key; }

        static Key parse(String k, String text) {
            for (Key x : values()) if (x.key.equals(k)) return x;
            throw new SettingError("setup", text, "unknown key '" + k + "' (expected " + String.join(", ", keys()) + ")");
        }

        static List<String> keys() { return java.util.Arrays.stream(values()).map(x -> x.key).toList(); }
    }

    /** Parses one setup; every problem is a {@link SettingError} on {@code setup} naming the key. */
    public static SetupSpec parse(String text) {
        Map<Key, String> v = new EnumMap<>(Key.class);
        Key last = null;
        for (String part : text.split(",", -1)) {
            int eq = part.indexOf('=');
            if (eq < 0) {
                if (last == null) throw new SettingError("setup", text, "expected KEY=VALUE entries separated by commas, e.g. file=v.safetensors,strength=4");
                v.put(last, v.get(last) + "," + part.strip());
                continue;
            }
            Key k = Key.parse(part.substring(0, eq).strip(), text);
            if (v.containsKey(k)) throw new SettingError("setup", text, "key '" + k.key + "' is given twice");
            v.put(k, part.substring(eq + 1).strip());
            last = k;
        }
        for (Map.Entry<Key, String> e : v.entrySet())
            if (e.getValue().isEmpty()) throw new SettingError("setup", text, e.getKey().key + ": expected a value");
        if (!v.containsKey(Key.FILE)) throw new SettingError("setup", text, "file: missing (the steering file, e.g. file=v.safetensors)");
        String name = v.get(Key.NAME);
        if (name != null && !name.matches("[A-Za-z0-9][A-Za-z0-9._@-]*"))
            throw new SettingError("setup", text, "name '" + name + "': expected letters, digits, '.', '_', '@' or '-'");
        Float strength = null;
        if (v.containsKey(Key.STRENGTH)) {
            try {
                strength = Float.parseFloat(v.get(Key.STRENGTH));
            } catch (NumberFormatException e) {
                throw new SettingError("setup", text, "strength '" + v.get(Key.STRENGTH) + "': expected a number");
            }
            if (!Float.isFinite(strength)) throw new SettingError("setup", text, "strength '" + v.get(Key.STRENGTH) + "': expected a finite number");
        }
        Operator op = v.containsKey(Key.OP) ? parsed(text, Key.OP, v, Operator::parse) : null;
        String window = v.get(Key.WINDOW);
        if (window != null) parsed(text, Key.WINDOW, v, StepSet::parse);
        SteeringPlan.Half half = v.containsKey(Key.HALF) ? parsed(text, Key.HALF, v, SteeringPlan.Half::parse) : null;
        String taps = v.get(Key.TAPS);
        boolean norm = false;
        if (v.containsKey(Key.PRESERVE_NORM)) {
            String b = v.get(Key.PRESERVE_NORM).toLowerCase(Locale.ROOT);
            if (!b.equals("true") && !b.equals("false")) throw new SettingError("setup", text, "preserve-norm '" + b + "': expected true or false");
            norm = b.equals("true");
        }
        TokenSelection tokens = v.containsKey(Key.TOKENS) ? parsed(text, Key.TOKENS, v, TokenSelection::parse) : TokenSelection.ALL;
        return new SetupSpec(text, name, Path.of(v.get(Key.FILE)), strength, op, window, half, taps, norm, tokens);
    }

    private static <T> T parsed(String text, Key k, Map<Key, String> v, java.util.function.Function<String, T> parser) {
        try {
            return parser.apply(v.get(k));
        } catch (UserError | IllegalArgumentException e) {
            throw new SettingError("setup", text, k.key + ": " + e.getMessage());
        }
    }

    /** The plan this setup makes of its steering file, for a run of {@code steps} denoising steps. */
    public SteeringPlan plan(SteeringFile f, int steps) {
        SteeringPlan p = SteeringPlan.defaults(f, strength);
        if (taps != null) {
            TapPattern glob = TapPattern.of(taps);
            List<String> keep = new ArrayList<>();
            for (String t : f.taps().keySet()) if (glob.matches(t)) keep.add(t);
            if (keep.isEmpty())
                throw new SettingError("setup", text, "taps '" + taps + "' selects none of " + file.getFileName() + "'s taps (" + String.join(", ", f.taps().keySet()) + ")");
            p = p.restrictedTo(keep);
        }
        if (operator != null) p = p.withOperator(operator);
        if (window != null) {
            try {
                p = p.withWindow(StepSet.parse(window).within(steps));
            } catch (UserError e) {
                throw new SettingError("setup", text, "window: " + e.getMessage());
            }
        }
        if (half != null) p = p.withHalf(half);
        if (preserveNorm) p = p.withNormPreserved(true);
        return p.withTokens(tokens);
    }
}
