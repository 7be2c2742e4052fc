using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// Jinja2's built-in filters as Jinja2 3.1 defines them, with transformers' <c>tojson</c>
/// (json.dumps with ensure_ascii=False, no HTML escaping) in place of Jinja's own.
/// </summary>
internal static partial class Filters
{
    public delegate object? Filter(object? value, CallArgs args);

    private static readonly Dictionary<string, Filter> All = new(StringComparer.Ordinal)
    {
        ["abs"] = (v, _) => v switch
        {
            long l => (object)Math.Abs(l),
            double d => (object)Math.Abs(d),
            bool b => (object)(b ? 1L : 0L),
            Undefined u => throw u.Fail(),
            _ => throw Py.TypeError($"bad operand type for abs(): '{Py.TypeName(v)}'"),
        },
        ["attr"] = (v, a) => Py.GetAttr(v, PyFormat.Str(a.Get(0, "name"))),
        ["batch"] = (v, a) => new GeneratorValue("do_batch", Batch(v, a)),
        ["capitalize"] = (v, _) => Methods.Capitalize(PyFormat.Str(v)),
        ["center"] = (v, a) => Strings.Center(PyFormat.Str(v), Strings.Width(a.Get(0, "width", 80L)), ' '),
        ["default"] = (v, a) => v is Undefined || (Py.Truthy(a.Get(1, "boolean", false)) && !Py.Truthy(v)) ? a.Get(0, "default_value", "") : v,
        ["dictsort"] = DictSort,
        ["escape"] = (v, _) => HtmlEscape(PyFormat.Str(v)),
        ["first"] = (v, _) => Py.Iterate(v).Take(1).ToList() is [var x] ? x : new Undefined("No first item, sequence was empty."),
        ["float"] = (v, a) => ToFloat(v, a.Get(0, "default", 0.0)),
        ["format"] = (v, a) => Py.Modulo(PyFormat.Str(v), a.Named.Count > 0 ? a.Named : new TupleValue(a.Positional)),
        ["indent"] = Indent,
        ["int"] = (v, a) => ToInt(v, a.Get(0, "default", 0L), (int)Py.ToLong(a.Get(1, "base", 10L))),
        ["items"] = (v, _) => new GeneratorValue("do_items", Items(v)),
        ["join"] = (v, a) =>
        {
            var items = Py.Iterate(v);
            if (a.Get(1, "attribute") is { } attr and not Undefined) items = items.Select(AttrGetter(attr));
            return Strings.Join(PyFormat.Str(a.Get(0, "d", "")), items.Select(PyFormat.Str));
        },
        ["last"] = (v, _) => v is GeneratorValue
            ? throw Py.TypeError("'generator' object is not reversible")
            : Py.Iterate(v).ToList() is { Count: > 0 } l ? l[^1] : new Undefined("No last item, sequence was empty."),
        ["length"] = (v, _) => Py.Length(v),
        ["list"] = (v, _) => Py.Iterate(v).ToList(),
        ["lower"] = (v, _) => PyFormat.Str(v).ToLowerInvariant(),
        ["map"] = (v, a) => new GeneratorValue("sync_do_map", Map(v, a)),
        ["max"] = (v, a) => MinMax(v, a, max: true),
        ["min"] = (v, a) => MinMax(v, a, max: false),
        ["pprint"] = (v, _) => PyFormat.Repr(v),
        ["reject"] = (v, a) => new GeneratorValue("select_or_reject", Select(v, a, lookupAttr: false, keep: false)),
        ["rejectattr"] = (v, a) => new GeneratorValue("select_or_reject", Select(v, a, lookupAttr: true, keep: false)),
        ["replace"] = (v, a) => Strings.Replace(PyFormat.Str(v), PyFormat.Str(a.Get(0, "old")), PyFormat.Str(a.Get(1, "new")),
            a.Get(2, "count") is { } c and not Undefined ? Py.ToLong(c) : -1),
        // reversed(list) is a lazy iterator in Python; a generator cannot be reversed lazily, so it becomes a list.
        ["reverse"] = (v, _) => v switch
        {
            string s => Py.Slice(s, null, null, -1L),
            IList<object?> l => new GeneratorValue("list_reverseiterator", Reversed(l)),
            _ => Py.Iterate(v).Reverse().ToList(),
        },
        ["round"] = Round,
        ["safe"] = (v, _) => v is string ? v : PyFormat.Str(v),
        ["select"] = (v, a) => new GeneratorValue("select_or_reject", Select(v, a, lookupAttr: false, keep: true)),
        ["selectattr"] = (v, a) => new GeneratorValue("select_or_reject", Select(v, a, lookupAttr: true, keep: true)),
        ["sort"] = Sort,
        ["string"] = (v, _) => PyFormat.Str(v),
        ["sum"] = (v, a) =>
        {
            var items = Py.Iterate(v);
            if (a.Get(0, "attribute") is { } attr and not Undefined) items = items.Select(AttrGetter(attr));
            object? total = a.Get(1, "start", 0L);
            foreach (var x in items) total = Py.Add(total, x);
            return total;
        },
        ["title"] = (v, _) => JinjaTitle(PyFormat.Str(v)),
        ["tojson"] = (v, a) =>
        {
            var indent = a.Get(1, "indent");
            string? ind = indent switch
            {
                null or Undefined => null,
                string s => s,
                _ => new string(' ', Strings.Width(indent)),
            };
            string? itemSep = null, keySep = null;
            if (a.Get(2, "separators") is IList<object?> { Count: 2 } seps)
            {
                itemSep = PyFormat.Str(seps[0]);
                keySep = PyFormat.Str(seps[1]);
            }
            return TemplateJson.Dumps(v, ind, Py.Truthy(a.Get(3, "sort_keys", false)), Py.Truthy(a.Get(0, "ensure_ascii", false)), itemSep, keySep);
        },
        ["trim"] = (v, a) => Py.Strip(PyFormat.Str(v), a.Get(0, "chars") as string, true, true),
        ["unique"] = (v, a) => new GeneratorValue("sync_do_unique", Unique(v, a)),
        ["upper"] = (v, _) => PyFormat.Str(v).ToUpperInvariant(),
        ["wordcount"] = (v, _) => (long)WordRegex().Matches(PyFormat.Str(v)).Count,
    };

    static Filters()
    {
        All["d"] = All["default"];
        All["e"] = All["escape"];
        All["forceescape"] = All["escape"];
        All["count"] = All["length"];
    }

    public static Filter? Lookup(string name) => All.GetValueOrDefault(name);

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRegex();

    /// <summary>markupsafe.escape: Jinja's <c>escape</c> filter always escapes, autoescape or not.</summary>
    private static string HtmlEscape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    /// <summary>Jinja's attribute path getter: "a.b.0" looks up a, then b, then item 0.</summary>
    private static Func<object?, object?> AttrGetter(object? attribute, object? fallback = null, bool ignoreCase = false)
    {
        var parts = attribute is string s
            ? s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, CultureInfo.InvariantCulture) : p).ToList()
            : new List<object?> { attribute };
        return item =>
        {
            foreach (var part in parts)
            {
                item = Py.GetItem(item, part);
                if (fallback is not null && item is Undefined) item = fallback;
            }
            return ignoreCase && item is string str ? str.ToLowerInvariant() : item;
        };
    }

    // Generator bodies: like Jinja's generator filters, nothing (not even argument checks) runs until iterated.
    private static IEnumerable<object?> Select(object? value, CallArgs a, bool lookupAttr, bool keep)
    {
        if (!Py.Truthy(value)) yield break;
        int off = 0;
        Func<object?, object?> trans = x => x;
        if (lookupAttr)
        {
            if (a.Positional.Count == 0) throw new TemplateException("Missing parameter for attribute name");
            trans = AttrGetter(a.Positional[0]);
            off = 1;
        }
        Func<object?, bool> test;
        if (a.Positional.Count > off)
        {
            string name = PyFormat.Str(a.Positional[off]);
            var testArgs = new CallArgs();
            testArgs.Positional.AddRange(a.Positional.Skip(off + 1));
            foreach (var (k, v) in a.Named) testArgs.Named[k] = v;
            test = x => Tests.Run(name, x, testArgs);
        }
        else test = Py.Truthy;
        foreach (var item in Py.Iterate(value))
            if (test(trans(item)) == keep) yield return item;
    }

    private static IEnumerable<object?> Items(object? value)
    {
        if (value is Undefined) yield break;
        if (value is not IReadOnlyDictionary<string, object?> d) throw new TemplateException("Can only get item pairs from a mapping.");
        foreach (var (k, v) in d) yield return new TupleValue([k, v]);
    }

    private static IEnumerable<object?> Reversed(IList<object?> list)
    {
        for (int i = list.Count - 1; i >= 0; i--) yield return list[i];
    }

    private static IEnumerable<object?> Batch(object? value, CallArgs a)
    {
        long size = Py.ToLong(a.Get(0, "linecount"));
        var fill = a.Get(1, "fill_with");
        var row = new List<object?>();
        foreach (var item in Py.Iterate(value))
        {
            if (row.Count == size)
            {
                yield return row;
                row = [];
            }
            row.Add(item);
        }
        if (row.Count > 0)
        {
            if (fill is not null)
            {
                RenderBudget.Allocate(size - row.Count, "a batch row");
                while (row.Count < size) row.Add(fill);
            }
            yield return row;
        }
    }

    private static IEnumerable<object?> Map(object? value, CallArgs a)
    {
        if (!Py.Truthy(value)) yield break;
        Func<object?, object?> fn;
        if (a.Positional.Count == 0 && a.Named.TryGetValue("attribute", out var attr))
        {
            fn = AttrGetter(attr, a.Named.GetValueOrDefault("default"));
        }
        else
        {
            if (a.Positional.Count == 0) throw new TemplateException("map requires a filter argument");
            string name = PyFormat.Str(a.Positional[0]);
            var filter = Lookup(name) ?? throw new TemplateException($"No filter named '{name}'.");
            var rest = new CallArgs();
            rest.Positional.AddRange(a.Positional.Skip(1));
            foreach (var (k, v) in a.Named) rest.Named[k] = v;
            fn = x => filter(x, rest);
        }
        foreach (var item in Py.Iterate(value)) yield return fn(item);
    }

    private static IEnumerable<object?> Unique(object? value, CallArgs a)
    {
        var key = AttrGetter(a.Get(1, "attribute"), ignoreCase: !Py.Truthy(a.Get(0, "case_sensitive", false)));
        if (a.Get(1, "attribute") is null or Undefined)
            key = x => !Py.Truthy(a.Get(0, "case_sensitive", false)) && x is string s ? s.ToLowerInvariant() : x;
        var seen = new List<object?>();
        foreach (var item in Py.Iterate(value))
        {
            var k = key(item);
            RenderBudget.Step(seen.Count);
            if (seen.Any(s => Py.Eq(s, k))) continue;
            seen.Add(k);
            yield return item;
        }
    }

    private static Func<object?, object?> SortKey(object? attribute, bool caseSensitive)
    {
        if (attribute is null or Undefined) return x => !caseSensitive && x is string s ? s.ToLowerInvariant() : x;
        if (attribute is string s && s.Contains(','))
        {
            var getters = s.Split(',').Select(p => AttrGetter(p.Trim(), ignoreCase: !caseSensitive)).ToList();
            return x => new TupleValue([.. getters.Select(g => g(x))]);
        }
        return AttrGetter(attribute, ignoreCase: !caseSensitive);
    }

    private static readonly Comparer<object?> PyComparer = Comparer<object?>.Create(Py.Compare);

    private static object? Sort(object? value, CallArgs a)
    {
        bool reverse = Py.Truthy(a.Get(0, "reverse", false));
        var key = SortKey(a.Get(2, "attribute"), Py.Truthy(a.Get(1, "case_sensitive", false)));
        return Sorted(Py.Iterate(value), key, reverse);
    }

    private static object? DictSort(object? value, CallArgs a)
    {
        if (value is not IReadOnlyDictionary<string, object?> dict) throw new TemplateException("You can only sort by either \"key\" or \"value\"");
        bool caseSensitive = Py.Truthy(a.Get(0, "case_sensitive", false));
        string by = PyFormat.Str(a.Get(1, "by", "key"));
        bool reverse = Py.Truthy(a.Get(2, "reverse", false));
        int pos = by switch { "key" => 0, "value" => 1, _ => throw new TemplateException("You can only sort by either \"key\" or \"value\"") };
        var items = dict.Select(kv => (object?)new TupleValue([kv.Key, kv.Value]));
        Func<object?, object?> key = x =>
        {
            var v = ((TupleValue)x!)[pos];
            return !caseSensitive && v is string s ? s.ToLowerInvariant() : v;
        };
        return Sorted(items, key, reverse);
    }

    /// <summary>
    /// Python's sorted(): stable in both directions, as LINQ ordering is. A comparison Python refuses (str against
    /// int) is a TemplateException from Py.Compare, which the sort would hand on wrapped in an InvalidOperationException
    /// ("Failed to compare two elements"); it surfaces as the template error it is.
    /// </summary>
    private static List<object?> Sorted(IEnumerable<object?> items, Func<object?, object?> key, bool reverse)
    {
        try
        {
            return (reverse ? items.OrderByDescending(key, PyComparer) : items.OrderBy(key, PyComparer)).ToList();
        }
        catch (InvalidOperationException e) when (e.InnerException is TemplateException inner)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            throw;
        }
    }

    private static object? MinMax(object? value, CallArgs a, bool max)
    {
        var key = SortKey(a.Get(1, "attribute"), Py.Truthy(a.Get(0, "case_sensitive", false)));
        object? best = null, bestKey = null;
        bool any = false;
        foreach (var item in Py.Iterate(value))
        {
            var k = key(item);
            if (!any || (max ? Py.Compare(k, bestKey) > 0 : Py.Compare(k, bestKey) < 0))
            {
                best = item;
                bestKey = k;
                any = true;
            }
        }
        return any ? best : new Undefined($"No aggregated item, sequence was empty.");
    }

    private static object? Round(object? value, CallArgs a)
    {
        long precision = Py.ToLong(a.Get(0, "precision", 0L));
        string method = PyFormat.Str(a.Get(1, "method", "common"));
        if (value is Undefined u) throw u.Fail();
        switch (method)
        {
            case "common":
                // Python's round(): ints stay ints, floats round half to even.
                if (Py.IsInteger(value) && precision >= 0) return Py.ToLong(value);
                return PyRound(Py.ToDouble(value), (int)Math.Clamp(precision, -308, 308));
            case "ceil":
            case "floor":
                {
                    double scale = Math.Pow(10, precision);
                    double x = Py.ToDouble(value) * scale;
                    return (method == "ceil" ? Math.Ceiling(x) : Math.Floor(x)) / scale;
                }
            default:
                throw new TemplateException("method must be common, ceil or floor");
        }
    }

    /// <summary>
    /// Python's <c>round(x, n)</c>: rounds the exact binary value half-to-even, so 2.675 (really 2.67499...)
    /// gives 2.67 where Math.Round's scaling would give 2.68.
    /// </summary>
    private static double PyRound(double x, int n)
    {
        if (!double.IsFinite(x) || x == 0) return x;
        long bits = BitConverter.DoubleToInt64Bits(x);
        bool negative = bits < 0;
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        exp -= 1075; // |x| = mant * 2^exp
        BigInteger num = mant, den = BigInteger.One;
        if (exp >= 0) num <<= exp; else den <<= -exp;
        if (n >= 0) num *= BigInteger.Pow(10, n); else den *= BigInteger.Pow(10, -n);
        var q = BigInteger.DivRem(num, den, out var r);
        int c = (r * 2).CompareTo(den);
        if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
        double result = double.Parse($"{q}e{-n}", NumberStyles.Float, CultureInfo.InvariantCulture);
        return negative ? -result : result;
    }

    private static object? ToInt(object? value, object? fallback, int radix)
    {
        switch (value)
        {
            case Undefined u: throw u.Fail();
            case long or bool: return Py.ToLong(value);
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                {
                    string t = s.Trim().Replace("_", "");
                    try
                    {
                        if (radix == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                        if (radix != 10)
                        {
                            bool neg = t.StartsWith('-');
                            string digits = t.TrimStart('+', '-');
                            string prefix = radix switch { 16 => "0x", 8 => "0o", 2 => "0b", _ => "" };
                            if (prefix.Length > 0 && digits.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
                            long r = Convert.ToInt64(digits, radix);
                            return neg ? -r : r;
                        }
                    }
                    catch (Exception e) when (e is FormatException or ArgumentException or OverflowException) { }
                    var f = ToFloat(s, null);
                    return f is double fd && double.IsFinite(fd) ? (long)Math.Truncate(fd) : fallback;
                }
            default: return fallback;
        }
    }

    private static object? ToFloat(object? value, object? fallback)
    {
        switch (value)
        {
            case Undefined u: throw u.Fail();
            case double d: return d;
            case long or bool: return Py.ToDouble(value);
            case string s:
                {
                    string t = s.Trim().Replace("_", "");
                    string lower = t.ToLowerInvariant().TrimStart('+');
                    if (lower is "inf" or "infinity") return double.PositiveInfinity;
                    if (lower is "-inf" or "-infinity") return double.NegativeInfinity;
                    if (lower is "nan" or "-nan") return double.NaN;
                    return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) ? r : fallback;
                }
            default: return fallback;
        }
    }

    private static object? Indent(object? value, CallArgs a)
    {
        var width = a.Get(0, "width", 4L);
        string indention = width is string w ? w : new string(' ', Strings.Width(width));
        bool first = Py.Truthy(a.Get(1, "first", false));
        bool blank = Py.Truthy(a.Get(2, "blank", false));
        if (value is not string text) throw Py.TypeError($"unsupported operand type(s) for +=: '{Py.TypeName(value)}' and 'str'");
        string s = text + "\n"; // Jinja appends a newline so splitlines keeps a trailing empty line
        var lines = Strings.SplitLines(s, keepEnds: false).Cast<string>().ToList();
        string rv;
        if (blank) rv = string.Join("\n" + indention, lines);
        else
        {
            rv = lines[0];
            if (lines.Count > 1) rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indention + l : l));
        }
        return first ? indention + rv : rv;
    }

    /// <summary>Jinja's <c>title</c> filter: capitalise each piece after a run of whitespace, '-', or an opening bracket.</summary>
    private static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            bool sep = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            if (sep) { sb.Append(c); start = true; continue; }
            sb.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = false;
        }
        return sb.ToString();
    }
}
