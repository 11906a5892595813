package dev.stitch.convert;

import dev.stitch.engine.io.SafeDType;
import dev.stitch.kernels.UserError;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A pickle reader that understands only what a PyTorch state dict is made of: dicts, lists, tuples, strings, numbers,
 * {@code OrderedDict}, tensor rebuild calls and storage references. It runs no Python and calls nothing: the few
 * allowed globals are recognised by name and evaluated here; any other global (say {@code os.system}) stops the read
 * with an error that names it. This is the safety story of {@code torch.load(weights_only=True)}, written out.
 *
 * <p>Values: {@code String}, {@code Long} (or {@code BigInteger}), {@code Double}, {@code Boolean}, {@code null},
 * {@code byte[]}, {@link Tuple}, {@code List<Object>}, {@code Map<Object,Object>} (insertion-ordered),
 * {@link TensorRef}, {@link Global} (a storage type or dtype, never called), and whatever the persistent-id loader
 * returns for storages.
 */
public final class RestrictedUnpickler {
    /** A reference to a Python global by qualified name; only allowed names ever become one. */
    public record Global(String module, String name) {
        public String qualified() { return module + "." + name; }
    }

    /** An immutable Python tuple. */
    public record Tuple(List<Object> items) {
        public Object get(int i) { return items.get(i); }
        public int size() { return items.size(); }
    }

    /** What {@code torch._utils._rebuild_tensor_v2} describes: a strided view of a storage (offsets in elements). */
    public record TensorRef(Object storage, long offset, long[] size, long[] stride) {}

    /** Storage classes of the legacy typed-storage API, as they appear in persistent ids, and their element types. */
    public static final Map<String, SafeDType> STORAGE_TYPES = Map.of(
        "torch.FloatStorage", SafeDType.F32, "torch.HalfStorage", SafeDType.F16, "torch.BFloat16Storage", SafeDType.BF16,
        "torch.DoubleStorage", SafeDType.F64, "torch.LongStorage", SafeDType.I64, "torch.IntStorage", SafeDType.I32,
        "torch.ShortStorage", SafeDType.I16, "torch.CharStorage", SafeDType.I8, "torch.ByteStorage", SafeDType.U8,
        "torch.BoolStorage", SafeDType.BOOL);

    /** dtype objects that may appear as plain values. */
    private static final List<String> DTYPES = List.of("float32", "float", "float16", "half", "bfloat16", "float64", "double",
        "int64", "long", "int32", "int", "int16", "short", "int8", "uint8", "bool");

    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final String CODECS_ENCODE = "_codecs.encode";

    /**
     * How deeply tuples, lists and dicts may nest. A state dict needs a handful of levels; a hostile file could nest
     * thousands, and Java's recursive hashCode and toString of such a value would overflow the stack.
     */
    static final int MAX_DEPTH = 100;

    private static final Object MARK = new Object() {
        @Override public String toString() { return "MARK"; }
    };

    private final String source;                        // for messages: "model.ckpt: archive/data.pkl"
    private final byte[] in;
    private final Function<Tuple, Object> persistentLoad;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private final Map<Object, Integer> depths = new java.util.IdentityHashMap<>();   // nesting depth of each container
    private int pos;

    private RestrictedUnpickler(String source, byte[] in, Function<Tuple, Object> persistentLoad) {
        this.source = source;
        this.in = in;
        this.persistentLoad = persistentLoad;
    }

    /**
     * Reads one pickle. {@code persistentLoad} turns a persistent id (a tuple such as
     * {@code ('storage', torch.HalfStorage, '0', 'cpu', 320)}) into a storage object.
     */
    public static Object load(String source, byte[] pickle, Function<Tuple, Object> persistentLoad) {
        return new RestrictedUnpickler(source, pickle, persistentLoad).run();
    }

    /** True if a global of this name would be accepted. */
    public static boolean allowed(String module, String name) {
        String q = module + "." + name;
        return q.equals(ORDERED_DICT) || q.equals(REBUILD_TENSOR) || q.equals(REBUILD_PARAMETER) || q.equals(CODECS_ENCODE)
            || STORAGE_TYPES.containsKey(q) || (module.equals("torch") && DTYPES.contains(name));
    }

    private Object run() {
        while (true) {
            int at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int p = u8();
                    if (p > 5) throw bad("pickle protocol " + p + " is newer than any PyTorch writes");
                }
                case 0x95 -> skip(8);                                      // FRAME: a length hint only
                case '.' -> {                                              // STOP
                    if (stack.size() != 1) throw bad("pickle ends with " + stack.size() + " values on the stack");
                    return stack.getFirst();
                }
                case '(' -> stack.add(MARK);
                case '0' -> pop();                                         // POP
                case '1' -> popMark();                                     // POP_MARK
                case '2' -> push(peek());                                  // DUP
                case '}' -> push(nested(new LinkedHashMap<>(), List.of()));   // EMPTY_DICT
                case 'd' -> push(dictOf(popMark()));                       // DICT
                case ']' -> push(nested(new ArrayList<>(), List.of()));    // EMPTY_LIST
                case 'l' -> { List<Object> items = popMark(); push(nested(new ArrayList<>(items), items)); }   // LIST
                case ')' -> push(tuple(List.of()));                        // EMPTY_TUPLE
                case 't' -> push(tuple(popMark()));                        // TUPLE
                case 0x85 -> push(tuple(List.of(pop())));                  // TUPLE1
                case 0x86 -> { Object b = pop(), a = pop(); push(tuple(Arrays.asList(a, b))); }
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(tuple(Arrays.asList(a, b, c))); }
                case 'a' -> { Object v = pop(); Object l = peek(); list(l, "APPEND").add(v); grown(l, List.of(v)); }
                case 'e' -> { List<Object> items = popMark(); Object l = peek(); list(l, "APPENDS").addAll(items); grown(l, items); }
                case 's' -> { Object v = pop(), k = pop(); Object d = peek(); dict(d, "SETITEM").put(key(k), v); grown(d, List.of(v)); }
                case 'u' -> {                                              // SETITEMS
                    List<Object> kv = popMark();
                    if (kv.size() % 2 != 0) throw bad("SETITEMS with an odd number of values");
                    Map<Object, Object> d = dict(peek(), "SETITEMS");
                    for (int i = 0; i < kv.size(); i += 2) d.put(key(kv.get(i)), kv.get(i + 1));
                    grown(d, kv);
                }
                case 'X' -> push(utf8(len(u32())));                        // BINUNICODE
                case 0x8c -> push(utf8(u8()));                             // SHORT_BINUNICODE
                case 0x8d -> push(utf8(len(i64())));                       // BINUNICODE8
                case 'T' -> push(latin1(len(u32())));                      // BINSTRING (Python 2 str)
                case 'U' -> push(latin1(u8()));                            // SHORT_BINSTRING
                case 'B' -> push(bytes(len(u32())));                       // BINBYTES
                case 'C' -> push(bytes(u8()));                             // SHORT_BINBYTES
                case 0x8e -> push(bytes(len(i64())));                      // BINBYTES8
                case 'J' -> push((long) i32());                            // BININT
                case 'K' -> push((long) u8());                             // BININT1
                case 'M' -> push((long) (u8() | (u8() << 8)));             // BININT2
                case 0x8a -> push(longLE(u8()));                           // LONG1
                case 0x8b -> push(longLE(len(u32())));                     // LONG4
                case 'G' -> push(Double.longBitsToDouble(beLong()));       // BINFLOAT (big-endian)
                case 'N' -> push(null);                                    // NONE
                case 0x88 -> push(Boolean.TRUE);                           // NEWTRUE
                case 0x89 -> push(Boolean.FALSE);                          // NEWFALSE
                case 'q' -> memo.put((long) u8(), peek());                 // BINPUT
                case 'r' -> memo.put(u32(), peek());                       // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek());         // MEMOIZE
                case 'h' -> push(memoGet(u8()));                           // BINGET
                case 'j' -> push(memoGet(u32()));                          // LONG_BINGET
                case 'c' -> push(global(line(), line()));                  // GLOBAL
                case 0x93 -> {                                             // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw bad("STACK_GLOBAL without two strings");
                    push(global(m, n));
                }
                case 'R' -> { Object args = pop(), f = pop(); push(call(f, args)); }                     // REDUCE
                case 0x81 -> { Object args = pop(), cls = pop(); push(call(cls, args)); }                // NEWOBJ
                case 'b' -> build(pop(), peek());                                                         // BUILD
                case 'Q' -> {                                                                             // BINPERSID
                    Object pid = pop();
                    if (!(pid instanceof Tuple t)) throw bad("persistent id is not a tuple");
                    push(persistentLoad.apply(t));
                }
                default -> throw bad(String.format("pickle opcode 0x%02x at byte %d is not one a state dict uses; refusing the file", op, at));
            }
        }
    }

    // ---- globals and calls: the only place anything is "evaluated" ----

    private Global global(String module, String name) {
        if (!allowed(module, name))
            throw new UserError(source + " refers to the Python global '" + module + "." + name
                + "', which a plain state dict never needs; refusing to load it (nothing was executed)");
        return new Global(module, name);
    }

    private Object call(Object f, Object args) {
        if (!(f instanceof Global g)) throw bad("calls a " + typeName(f) + ", not a global");
        if (!(args instanceof Tuple a)) throw bad("calls " + g.qualified() + " with " + typeName(args) + " instead of an argument tuple");
        return switch (g.qualified()) {
            case ORDERED_DICT -> {
                if (a.size() != 0) throw bad("OrderedDict called with arguments");
                yield new LinkedHashMap<>();
            }
            case REBUILD_TENSOR -> rebuildTensor(a);
            case REBUILD_PARAMETER -> {
                if (a.size() < 1 || !(a.get(0) instanceof TensorRef t)) throw bad("_rebuild_parameter without a tensor");
                yield t;
            }
            case CODECS_ENCODE -> {  // protocol 2 stores bytes as _codecs.encode(str, 'latin1')
                if (a.size() != 2 || !(a.get(0) instanceof String s) || !(a.get(1) instanceof String enc)
                    || !(enc.equals("latin1") || enc.equals("latin-1")))
                    throw bad("_codecs.encode with unexpected arguments");
                yield s.getBytes(StandardCharsets.ISO_8859_1);
            }
            default -> throw bad(g.qualified() + " is not callable here");
        };
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private TensorRef rebuildTensor(Tuple a) {
        if (a.size() < 4) throw bad("_rebuild_tensor_v2 with " + a.size() + " arguments");
        long[] size = longs(a.get(2), "size"), stride = longs(a.get(3), "stride");
        if (size.length != stride.length) throw bad("tensor size " + Arrays.toString(size) + " and stride " + Arrays.toString(stride) + " differ in rank");
        if (!(a.get(1) instanceof Long offset) || offset < 0) throw bad("tensor storage offset is not a non-negative integer");
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || stride[i] < 0) throw bad("negative size or stride " + Arrays.toString(size) + " / " + Arrays.toString(stride));
            if (size[i] > Integer.MAX_VALUE) throw bad("tensor size " + Arrays.toString(size) + " has an axis longer than " + Integer.MAX_VALUE);
        }
        return new TensorRef(a.get(0), offset, size, stride);
    }

    private void build(Object state, Object target) {
        // An OrderedDict state dict carries its '_metadata' (per-module versions) as instance state: not weights.
        if (target instanceof Map<?, ?>) return;
        throw bad("BUILD on a " + typeName(target) + " (only OrderedDict state is expected)");
    }

    // ---- stack helpers ----

    private void push(Object o) { stack.add(o); }

    private Object pop() {
        if (stack.isEmpty()) throw bad("stack underflow");
        Object o = stack.removeLast();
        if (o == MARK) throw bad("unexpected MARK");
        return o;
    }

    private Object peek() {
        if (stack.isEmpty() || stack.getLast() == MARK) throw bad("stack underflow");
        return stack.getLast();
    }

    private List<Object> popMark() {
        int m = stack.lastIndexOf(MARK);
        if (m < 0) throw bad("no MARK on the stack");
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object memoGet(long key) {
        if (!memo.containsKey(key)) throw bad("memo key " + key + " used before it was set");
        return memo.get(key);
    }

    private Tuple tuple(List<Object> items) {
        return nested(new Tuple(java.util.Collections.unmodifiableList(new ArrayList<>(items))), items);
    }

    private Map<Object, Object> dictOf(List<Object> kv) {
        if (kv.size() % 2 != 0) throw bad("DICT with an odd number of values");
        Map<Object, Object> d = new LinkedHashMap<>();
        for (int i = 0; i < kv.size(); i += 2) d.put(key(kv.get(i)), kv.get(i + 1));
        return nested(d, kv);
    }

    /** Records the depth of a new container holding {@code items}; deeper than {@link #MAX_DEPTH} is refused. */
    private <T> T nested(T container, List<Object> items) {
        depths.put(container, 1);
        grown(container, items);
        return container;
    }

    /** {@code container} now also holds {@code items}: its depth is at least one more than theirs. */
    private void grown(Object container, List<Object> items) {
        int d = depths.getOrDefault(container, 1);
        for (Object o : items) d = Math.max(d, depth(o) + 1);
        if (d > MAX_DEPTH) throw bad("values nested more than " + MAX_DEPTH + " levels deep");
        depths.put(container, d);
    }

    private int depth(Object o) {
        Integer d = depths.get(o);
        return d == null ? 0 : d;
    }

    /**
     * A dict key as Python allows one: a string, number, bool, None or a tuple of those (lists and dicts are
     * unhashable there, and a self-containing list would make Java's hashCode recurse forever).
     */
    private Object key(Object k) {
        if (hashable(k)) return k;
        throw bad("a dict key is a " + typeName(k) + ", which Python cannot hash");
    }

    private static boolean hashable(Object k) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Double
            || k instanceof Boolean || k instanceof byte[] || k instanceof Global) return true;
        if (k instanceof Tuple t) {   // depth is bounded by MAX_DEPTH, so this recursion is too
            for (Object o : t.items()) if (!hashable(o)) return false;
            return true;
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, String op) {
        if (o instanceof List<?> l && !(o instanceof Tuple)) return (List<Object>) l;
        throw bad(op + " on a " + typeName(o));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o, String op) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw bad(op + " on a " + typeName(o));
    }

    private long[] longs(Object o, String what) {
        if (!(o instanceof Tuple t)) throw bad("tensor " + what + " is not a tuple");
        long[] r = new long[t.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(t.get(i) instanceof Long l)) throw bad("tensor " + what + " holds a " + typeName(t.get(i)));
            r[i] = l;
        }
        return r;
    }

    // ---- byte reading ----

    private int u8() {
        if (pos >= in.length) throw truncated();
        return in[pos++] & 0xff;
    }

    private void skip(long n) {
        if (n > in.length - pos) throw truncated();
        pos += (int) n;
    }

    private long u32() { return (u8() | (u8() << 8) | (u8() << 16) | ((long) u8() << 24)); }

    private int i32() { return (int) u32(); }

    private long i64() {
        long v = 0;
        for (int i = 0; i < 8; i++) v |= (long) u8() << (8 * i);
        return v;
    }

    private long beLong() {
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | u8();
        return v;
    }

    private int len(long n) {
        if (n < 0 || n > in.length - pos) throw truncated();
        return (int) n;
    }

    private byte[] bytes(int n) {
        if (n > in.length - pos) throw truncated();
        byte[] b = Arrays.copyOfRange(in, pos, pos + n);
        pos += n;
        return b;
    }

    private String utf8(int n) { return new String(bytes(n), StandardCharsets.UTF_8); }

    private String latin1(int n) { return new String(bytes(n), StandardCharsets.ISO_8859_1); }

    /** Little-endian two's complement integer of n bytes (LONG1/LONG4). */
    private Object longLE(int n) {
        byte[] b = bytes(n);
        if (n == 0) return 0L;
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = b[n - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String line() {
        int start = pos;
        while (true) {
            if (pos >= in.length) throw truncated();
            if (in[pos++] == '\n') return new String(in, start, pos - 1 - start, StandardCharsets.UTF_8);
        }
    }

    private UserError truncated() { return new UserError(source + ": the pickle ends early (truncated or damaged file)"); }

    private UserError bad(String what) { return new UserError(source + ": " + what + " (not a PyTorch state dict pickle?)"); }

    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case Global g -> "global " + g.qualified();
            case Tuple t -> "tuple";
            case TensorRef t -> "tensor";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            default -> o.getClass().getSimpleName();
        };
    }
}
