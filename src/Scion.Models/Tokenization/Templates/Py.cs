using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// Python semantics for template values (truthiness, ==, ordering, arithmetic, iteration, len, indexing),
/// because chat templates are written against CPython and rely on its exact behaviour.
/// Values: null (None), bool, long (int), double (float), string, IList (list), TupleValue,
/// IReadOnlyDictionary&lt;string, object?&gt; (dict), Undefined, Namespace, LoopContext, Callable.
/// </summary>
internal static class Py
{
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        TupleValue => "tuple",
        IList<object?> => "list",
        IReadOnlyDictionary<string, object?> => "dict",
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        Callable => "function",
        GeneratorValue => "generator",
        _ => v.GetType().Name,
    };

    public static TemplateException TypeError(string message) => new(message);

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length != 0,
        IList<object?> list => list.Count != 0,
        IReadOnlyDictionary<string, object?> dict => dict.Count != 0,
        Undefined => false,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static bool IsInteger(object? v) => v is long or bool;

    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw TypeError($"expected an integer, got {TypeName(v)}"),
    };

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw TypeError($"expected a number, got {TypeName(v)}"),
    };

    // ---------- equality and ordering ----------

    public static bool Eq(object? a, object? b)
    {
        RenderBudget.EnsureStack();
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b))
        {
            if (IsInteger(a) && IsInteger(b)) return ToLong(a) == ToLong(b);
            return ToDouble(a) == ToDouble(b);
        }
        switch (a)
        {
            case string sa: return b is string sb && sa == sb;
            case Undefined: return b is Undefined;
            case TupleValue ta:
                return b is TupleValue tb && SequenceEquals(ta, tb);
            case IList<object?> la:
                return b is IList<object?> lb && b is not TupleValue && SequenceEquals(la, lb);
            case IReadOnlyDictionary<string, object?> da:
                if (b is not IReadOnlyDictionary<string, object?> db || da.Count != db.Count) return false;
                RenderBudget.Step(da.Count);
                foreach (var (k, v) in da)
                    if (!db.TryGetValue(k, out var w) || !Eq(v, w)) return false;
                return true;
            default: return ReferenceEquals(a, b);
        }
    }

    private static bool SequenceEquals(IList<object?> a, IList<object?> b)
    {
        if (a.Count != b.Count) return false;
        RenderBudget.Step(a.Count);
        for (int i = 0; i < a.Count; i++)
            if (!Eq(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Python ordering (&lt;, &gt; ...): numbers, strings by code point, sequences lexicographically.</summary>
    public static int Compare(object? a, object? b)
    {
        RenderBudget.Step();
        RenderBudget.EnsureStack();
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (IsInteger(a) && IsInteger(b)) return ToLong(a).CompareTo(ToLong(b));
            return ToDouble(a).CompareTo(ToDouble(b));
        }
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if (a is IList<object?> la && b is IList<object?> lb && (a is TupleValue) == (b is TupleValue))
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (Eq(la[i], lb[i])) continue;
                return Compare(la[i], lb[i]);
            }
            return la.Count.CompareTo(lb.Count);
        }
        throw TypeError($"'<' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static int CompareCodePoints(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext(), hb = eb.MoveNext();
            if (!ha || !hb) return ha ? 1 : hb ? -1 : 0;
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    /// <summary>Python <c>in</c>: substring, list membership, dict key.</summary>
    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub) throw TypeError($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case IList<object?> list:
                RenderBudget.Step(list.Count);
                foreach (var x in list) if (Eq(x, item)) return true;
                return false;
            case IReadOnlyDictionary<string, object?> dict:
                if (item is IReadOnlyDictionary<string, object?> || (item is IList<object?> && item is not TupleValue))
                    throw TypeError($"unhashable type: '{TypeName(item)}'");
                return item is string key && dict.ContainsKey(key);
            case Undefined:
                return false;
            case GeneratorValue g:
                foreach (var x in g.Consume()) if (Eq(x, item)) return true;
                return false;
            default:
                throw TypeError($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    // ---------- arithmetic ----------

    public static object? Add(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (IsNumber(a) && IsNumber(b)) return NumOp(a, b, (x, y) => checked(x + y), (x, y) => x + y);
        if (a is string sa && b is string sb) return Concat(sa, sb);
        if (a is TupleValue ta && b is TupleValue tb)
        {
            RenderBudget.Allocate((long)ta.Count + tb.Count, "a tuple");
            return new TupleValue([.. ta, .. tb]);
        }
        if (a is IList<object?> la && b is IList<object?> lb && a is not TupleValue && b is not TupleValue)
        {
            RenderBudget.Allocate((long)la.Count + lb.Count, "a list");
            return new List<object?>([.. la, .. lb]);
        }
        throw BinaryError("+", a, b);
    }

    public static object? Subtract(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (IsNumber(a) && IsNumber(b)) return NumOp(a, b, (x, y) => checked(x - y), (x, y) => x - y);
        throw BinaryError("-", a, b);
    }

    public static object? Multiply(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (IsNumber(a) && IsNumber(b)) return NumOp(a, b, (x, y) => checked(x * y), (x, y) => x * y);
        if (IsInteger(b) && (a is string || a is IList<object?>)) return Repeat(a, ToLong(b));
        if (IsInteger(a) && (b is string || b is IList<object?>)) return Repeat(b, ToLong(a));
        throw BinaryError("*", a, b);
    }

    /// <summary>String concatenation (<c>+</c>, <c>~</c>), charged to the render's budget.</summary>
    public static string Concat(string a, string b)
    {
        RenderBudget.Allocate((long)a.Length + b.Length, "a string");
        return a + b;
    }

    private static object Repeat(object? seq, long n)
    {
        // Charged before building: 'x' * 10**12 must be refused, not attempted.
        long unit = seq is string str ? str.Length : ((IList<object?>)seq!).Count;
        if (n > 0 && unit > 0) RenderBudget.Allocate(n > long.MaxValue / unit ? long.MaxValue : unit * n, seq is string ? "a repeated string" : "a repeated list");
        if (seq is string s)
        {
            var sb = new StringBuilder();
            for (long i = 0; i < n; i++) sb.Append(s);
            return sb.ToString();
        }
        var list = (IList<object?>)seq!;
        var result = new List<object?>();
        for (long i = 0; i < n; i++) result.AddRange(list);
        return seq is TupleValue ? new TupleValue(result) : result;
    }

    public static object? TrueDivide(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw BinaryError("/", a, b);
        double y = ToDouble(b);
        if (y == 0) throw TypeError("division by zero");
        return ToDouble(a) / y;
    }

    public static object? FloorDivide(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw BinaryError("//", a, b);
        if (IsInteger(a) && IsInteger(b))
        {
            long x = ToLong(a), y = ToLong(b);
            if (y == 0) throw TypeError("integer division or modulo by zero");
            long q = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
            return q;
        }
        double dy = ToDouble(b);
        if (dy == 0) throw TypeError("float floor division by zero");
        return Math.Floor(ToDouble(a) / dy);
    }

    public static object? Modulo(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (a is string fmt) return PercentFormat(fmt, b);
        if (!IsNumber(a) || !IsNumber(b)) throw BinaryError("%", a, b);
        if (IsInteger(a) && IsInteger(b))
        {
            long x = ToLong(a), y = ToLong(b);
            if (y == 0) throw TypeError("integer division or modulo by zero");
            long r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return r;
        }
        double dx = ToDouble(a), dy = ToDouble(b);
        if (dy == 0) throw TypeError("float modulo");
        double m = dx % dy;
        if (m != 0 && ((m < 0) != (dy < 0))) m += dy;
        return m;
    }

    public static object? Power(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw BinaryError("**", a, b);
        if (IsInteger(a) && IsInteger(b) && ToLong(b) >= 0)
        {
            long x = ToLong(a), e = ToLong(b);
            // By squaring: a loop of e multiplications never ends for 1 ** 9e18 (no overflow stops it).
            try
            {
                long r = 1, p = x;
                for (long k = e; k > 0; k >>= 1)
                {
                    if ((k & 1) != 0) r = checked(r * p);
                    if (k > 1) p = checked(p * p);
                }
                return r;
            }
            catch (OverflowException) { return Math.Pow(x, e); }
        }
        double fb = ToDouble(a), fe = ToDouble(b);
        if (fb == 0 && fe < 0) throw TypeError("0.0 cannot be raised to a negative power");
        if (fb < 0 && fe != Math.Floor(fe)) throw TypeError("negative number cannot be raised to a fractional power (Python would give a complex number)");
        return Math.Pow(fb, fe);
    }

    public static object? Negate(object? a)
    {
        if (a is Undefined u) throw u.Fail();
        if (a is double d) return -d;
        if (IsInteger(a)) return -ToLong(a);
        throw TypeError($"bad operand type for unary -: '{TypeName(a)}'");
    }

    private static object NumOp(object? a, object? b, Func<long, long, long> intOp, Func<double, double, double> floatOp)
    {
        if (IsInteger(a) && IsInteger(b))
        {
            try { return intOp(ToLong(a), ToLong(b)); }
            catch (OverflowException) { return floatOp(ToDouble(a), ToDouble(b)); }
        }
        return floatOp(ToDouble(a), ToDouble(b));
    }

    private static void FailIfUndefined(object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
    }

    private static TemplateException BinaryError(string op, object? a, object? b) =>
        a is string && b is not string && op == "+"
            ? TypeError($"can only concatenate str (not \"{TypeName(b)}\") to str")
            : TypeError($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");

    /// <summary>The common subset of Python's <c>"..." % args</c>: %s, %r, %d, %i, %f, %%.</summary>
    private static string PercentFormat(string fmt, object? args)
    {
        // A mapping argument only feeds %(name)s fields, so unused it is no error (we do not support named fields).
        if ((args is IReadOnlyDictionary<string, object?> || (args is IList<object?> && args is not TupleValue)) && !fmt.Replace("%%", "").Contains('%')) return fmt.Replace("%%", "%");
        var items = args is TupleValue t ? (IList<object?>)t : [args];
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%') { sb.Append(fmt[i]); continue; }
            if (++i >= fmt.Length) throw TypeError("incomplete format");
            char c = fmt[i];
            if (c == '%') { sb.Append('%'); continue; }
            if (next >= items.Count) throw TypeError("not enough arguments for format string");
            var v = items[next++];
            sb.Append(c switch
            {
                's' => PyFormat.Str(v),
                'r' => PyFormat.Repr(v),
                'd' or 'i' => PyFormat.Str(v is double d ? (long)Math.Truncate(d) : ToLong(v)),
                'f' => ToDouble(v).ToString("F6", System.Globalization.CultureInfo.InvariantCulture),
                _ => throw TypeError($"unsupported format character '{c}'"),
            });
        }
        if (next < items.Count) throw TypeError("not all arguments converted during string formatting");
        return sb.ToString();
    }

    // ---------- containers ----------

    /// <summary>Python <c>len()</c>; strings count code points; Undefined has length 0.</summary>
    public static long Length(object? v) => v switch
    {
        string s => CodePointCount(s),
        IList<object?> list => list.Count,
        IReadOnlyDictionary<string, object?> dict => dict.Count,
        Namespace ns => ns.Attributes.Count,
        Undefined => 0,
        _ => throw TypeError($"object of type '{TypeName(v)}' has no len()"),
    };

    public static int CodePointCount(string s)
    {
        int n = 0;
        foreach (var _ in s.EnumerateRunes()) n++;
        return n;
    }

    /// <summary>Python iteration: strings by character, dicts by key, Undefined as empty.</summary>
    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        string s => Characters(s),
        IList<object?> list => Counted(list.Count, [.. list]), // snapshot: appending while looping must not break enumeration
        IReadOnlyDictionary<string, object?> dict => Counted(dict.Count, [.. dict.Keys]),
        GeneratorValue g => Counted(g.Consume()),
        Undefined => [],
        _ => throw TypeError($"'{TypeName(v)}' object is not iterable"),
    };

    // Iterating is work the statements and expressions do not count: a loop over range(99999) with an empty body.
    private static List<object?> Counted(int count, List<object?> items)
    {
        RenderBudget.Step(count);
        return items;
    }

    private static IEnumerable<object?> Counted(IEnumerable<object?> items)
    {
        foreach (var item in items)
        {
            RenderBudget.Step();
            yield return item;
        }
    }

    public static List<object?> Characters(string s)
    {
        RenderBudget.Step(s.Length);
        RenderBudget.Allocate(s.Length, "the characters of a string");
        var result = new List<object?>(s.Length);
        foreach (var r in s.EnumerateRunes()) result.Add(r.ToString());
        return result;
    }

    /// <summary>Jinja's <c>getattr</c>: Python attributes (methods) first, then the item of that name.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : new Undefined($"'Namespace' object has no attribute '{name}'");
            case LoopContext loop:
                return loop.GetAttribute(name);
        }
        var method = Methods.Bind(obj, name);
        if (method is not null) return method;
        if (obj is IReadOnlyDictionary<string, object?> dict)
            return dict.TryGetValue(name, out var v) ? v : new Undefined($"'dict object' has no attribute '{name}'");
        return new Undefined($"'{TypeName(obj)} object' has no attribute '{name}'");
    }

    /// <summary>Jinja's <c>getitem</c>: the item first, then a Python attribute of that name.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case IReadOnlyDictionary<string, object?> dict:
                if (key is string k && dict.TryGetValue(k, out var v)) return v;
                break;
            case IList<object?> list when IsInteger(key):
                {
                    long i = ToLong(key);
                    if (i < 0) i += list.Count;
                    if (i >= 0 && i < list.Count) return list[(int)i];
                    return new Undefined($"{TypeName(obj)} object has no element {ToLong(key)}");
                }
            case string s when IsInteger(key):
                {
                    var chars = Characters(s);
                    long i = ToLong(key);
                    if (i < 0) i += chars.Count;
                    if (i >= 0 && i < chars.Count) return chars[(int)i];
                    return new Undefined($"str object has no element {ToLong(key)}");
                }
        }
        if (key is string name) return GetAttr(obj, name);
        return new Undefined($"'{TypeName(obj)} object' has no element {PyFormat.Repr(key)}");
    }

    /// <summary>Python slicing <c>obj[start:stop:step]</c> of strings, lists and tuples.</summary>
    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        if (obj is Undefined u) throw u.Fail();
        long st = step is null ? 1 : ToLong(step);
        if (st == 0) throw TypeError("slice step cannot be zero");
        IList<object?> items;
        switch (obj)
        {
            case string s: items = Characters(s); break;
            case IList<object?> list: items = list; break;
            // Jinja compiles slices to a plain Python subscript (no getitem fallback), so these raise.
            case IReadOnlyDictionary<string, object?>: throw TypeError("unhashable type: 'slice'");
            default: throw TypeError($"'{TypeName(obj)}' object is not subscriptable");
        }
        long n = items.Count;
        long lo, hi;
        if (st > 0)
        {
            lo = start is null ? 0 : Clamp(ToLong(start), n, 0, n);
            hi = stop is null ? n : Clamp(ToLong(stop), n, 0, n);
        }
        else
        {
            lo = start is null ? n - 1 : Clamp(ToLong(start), n, -1, n - 1);
            hi = stop is null ? -1 : Clamp(ToLong(stop), n, -1, n - 1);
        }
        var result = new List<object?>();
        RenderBudget.Step(Math.Max(0, (hi - lo) / st));
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) result.Add(items[(int)i]);
        if (obj is string)
        {
            var sb = new StringBuilder();
            foreach (var c in result) sb.Append((string)c!);
            return sb.ToString();
        }
        return obj is TupleValue ? new TupleValue(result) : result;
    }

    private static long Clamp(long index, long n, long min, long max)
    {
        if (index < 0) index += n;
        return Math.Clamp(index, min, max);
    }

    // Python str.isspace: Unicode whitespace plus the information separators U+001C..U+001F.
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int a = 0, b = s.Length;
        Func<char, bool> drop = chars is null ? IsSpace : c => chars.Contains(c);
        if (left) while (a < b && drop(s[a])) a++;
        if (right) while (b > a && drop(s[b - 1])) b--;
        return s[a..b];
    }
}
