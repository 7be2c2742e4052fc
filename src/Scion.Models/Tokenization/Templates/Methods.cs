using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// The Python methods templates call on values: <c>str.strip/split/startswith...</c>,
/// <c>dict.items/keys/values/get</c> and <c>list.append</c> (the sandbox transformers uses forbids
/// mutating lists, but some templates call <c>append</c> and are rendered by other engines, so we allow it).
/// </summary>
internal static class Methods
{
    /// <summary>The bound method <paramref name="name"/> of <paramref name="obj"/>, or null when it has none.</summary>
    public static Callable? Bind(object? obj, string name) => obj switch
    {
        string s => StringMethod(s, name),
        IReadOnlyDictionary<string, object?> d => DictMethod(d, name),
        TupleValue t => TupleMethod(t, name),
        IList<object?> l => ListMethod(l, name),
        _ => null,
    };

    private static string Arg(CallArgs a, int i, string name)
    {
        var v = a.Get(i, name);
        return v as string ?? throw Py.TypeError($"{name} must be str, not {Py.TypeName(v)}");
    }

    private static string? OptArg(CallArgs a, int i, string name)
    {
        var v = a.Get(i, name);
        return v is null or Undefined ? null : v as string ?? throw Py.TypeError($"{name} must be str or None, not {Py.TypeName(v)}");
    }

    private static Callable? StringMethod(string s, string name)
    {
        Func<CallArgs, object?>? f = name switch
        {
            "strip" => a => Py.Strip(s, OptArg(a, 0, "chars"), true, true),
            "lstrip" => a => Py.Strip(s, OptArg(a, 0, "chars"), true, false),
            "rstrip" => a => Py.Strip(s, OptArg(a, 0, "chars"), false, true),
            "upper" => _ => s.ToUpperInvariant(),
            "lower" => _ => s.ToLowerInvariant(),
            "title" => _ => Title(s),
            "capitalize" => _ => Capitalize(s),
            "swapcase" => _ => new string([.. s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))]),
            "startswith" => a => Affix(s, a.Get(0, "prefix"), true),
            "endswith" => a => Affix(s, a.Get(0, "suffix"), false),
            "split" => a => Split(s, OptArg(a, 0, "sep"), a.Has(1, "maxsplit") ? Py.ToLong(a.Get(1, "maxsplit")) : -1),
            "rsplit" => a => RSplit(s, OptArg(a, 0, "sep"), a.Has(1, "maxsplit") ? Py.ToLong(a.Get(1, "maxsplit")) : -1),
            "splitlines" => a => new List<object?>(Strings.SplitLines(s, Py.Truthy(a.Get(0, "keepends", false)))),
            "replace" => a => Strings.Replace(s, Arg(a, 0, "old"), Arg(a, 1, "new"), a.Has(2, "count") ? Py.ToLong(a.Get(2, "count")) : -1),
            "find" => a => (long)s.IndexOf(Arg(a, 0, "sub"), StringComparison.Ordinal),
            "rfind" => a => (long)s.LastIndexOf(Arg(a, 0, "sub"), StringComparison.Ordinal),
            "index" => a => s.IndexOf(Arg(a, 0, "sub"), StringComparison.Ordinal) is var i and >= 0 ? (long)i : throw Py.TypeError("substring not found"),
            "count" => a => (long)Strings.Count(s, Arg(a, 0, "sub")),
            "join" => a => Strings.Join(s, Py.Iterate(a.Get(0, "iterable")).Select(x => x as string ?? throw Py.TypeError($"sequence item: expected str instance, {Py.TypeName(x)} found"))),
            "format" => a => Format(s, a),
            "isdigit" => _ => s.Length > 0 && s.All(char.IsDigit),
            "isnumeric" => _ => s.Length > 0 && s.All(char.IsDigit),
            "isalpha" => _ => s.Length > 0 && s.All(char.IsLetter),
            "isalnum" => _ => s.Length > 0 && s.All(char.IsLetterOrDigit),
            "isspace" => _ => s.Length > 0 && s.All(Py.IsSpace),
            "isupper" => _ => s.Any(char.IsUpper) && !s.Any(char.IsLower),
            "islower" => _ => s.Any(char.IsLower) && !s.Any(char.IsUpper),
            "zfill" => a => ZFill(s, Strings.Width(a.Get(0, "width"))),
            "center" => a => Strings.Center(s, Strings.Width(a.Get(0, "width")), Strings.FillChar(a.Get(1, "fillchar", " "))),
            "ljust" => a => s.PadRight(Strings.Width(a.Get(0, "width")), Strings.FillChar(a.Get(1, "fillchar", " "))),
            "rjust" => a => s.PadLeft(Strings.Width(a.Get(0, "width")), Strings.FillChar(a.Get(1, "fillchar", " "))),
            _ => null,
        };
        return f is null ? null : new Callable("str." + name, f);
    }

    private static Callable? DictMethod(IReadOnlyDictionary<string, object?> d, string name)
    {
        Func<CallArgs, object?>? f = name switch
        {
            "items" => _ => new List<object?>(d.Select(kv => (object?)new TupleValue([kv.Key, kv.Value]))),
            "keys" => _ => new List<object?>(d.Keys),
            "values" => _ => new List<object?>(d.Values),
            "get" => a => a.Get(0, "key") is string k && d.TryGetValue(k, out var v) ? v : a.Get(1, "default"),
            "copy" => _ => new Dictionary<string, object?>(d),
            _ => null,
        };
        return f is null ? null : new Callable("dict." + name, f);
    }

    private static Callable? TupleMethod(TupleValue t, string name) => name switch
    {
        "index" => new Callable("tuple.index", a => IndexOf(t, a.Get(0, "value"))),
        "count" => new Callable("tuple.count", a => (long)t.Count(x => Py.Eq(x, a.Get(0, "value")))),
        _ => null,
    };

    private static Callable? ListMethod(IList<object?> l, string name)
    {
        Func<CallArgs, object?>? f = name switch
        {
            "append" => a => { Mutable(l).Add(a.Get(0, "object")); return null; },
            "extend" => a => { var m = Mutable(l); foreach (var x in Py.Iterate(a.Get(0, "iterable"))) m.Add(x); return null; },
            "insert" => a =>
            {
                long i = Py.ToLong(a.Get(0, "index"));
                if (i < 0) i = Math.Max(0, i + l.Count);
                Mutable(l).Insert((int)Math.Min(i, l.Count), a.Get(1, "object"));
                return null;
            },
            "pop" => a =>
            {
                if (l.Count == 0) throw Py.TypeError("pop from empty list");
                long i = a.Has(0, "index") ? Py.ToLong(a.Get(0, "index")) : -1;
                if (i < 0) i += l.Count;
                if (i < 0 || i >= l.Count) throw Py.TypeError("pop index out of range");
                var v = l[(int)i];
                Mutable(l).RemoveAt((int)i);
                return v;
            },
            "index" => a => IndexOf(l, a.Get(0, "value")),
            "count" => a => (long)l.Count(x => Py.Eq(x, a.Get(0, "value"))),
            "copy" => _ => new List<object?>(l),
            _ => null,
        };
        return f is null ? null : new Callable("list." + name, f);
    }

    private static IList<object?> Mutable(IList<object?> l) =>
        l.IsReadOnly ? throw Py.TypeError("this list cannot be modified") : l;

    private static object IndexOf(IList<object?> l, object? value)
    {
        for (int i = 0; i < l.Count; i++) if (Py.Eq(l[i], value)) return (long)i;
        throw Py.TypeError($"{PyFormat.Repr(value)} is not in list");
    }

    private static bool Affix(string s, object? affix, bool prefix)
    {
        if (affix is TupleValue t) return t.Any(x => Affix(s, x, prefix));
        if (affix is not string a) throw Py.TypeError($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {Py.TypeName(affix)}");
        return prefix ? s.StartsWith(a, StringComparison.Ordinal) : s.EndsWith(a, StringComparison.Ordinal);
    }

    /// <summary>Python <c>str.split</c>: on runs of whitespace when no separator is given.</summary>
    public static List<object?> Split(string s, string? sep, long maxsplit)
    {
        var result = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && Py.IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxsplit >= 0 && result.Count >= maxsplit)
                {
                    result.Add(s[i..]);
                    break;
                }
                int j = i;
                while (j < s.Length && !Py.IsSpace(s[j])) j++;
                result.Add(s[i..j]);
                i = j;
            }
            return result;
        }
        if (sep.Length == 0) throw Py.TypeError("empty separator");
        int start = 0;
        while (maxsplit < 0 || result.Count < maxsplit)
        {
            RenderBudget.Step();
            int k = s.IndexOf(sep, start, StringComparison.Ordinal);
            if (k < 0) break;
            result.Add(s[start..k]);
            start = k + sep.Length;
        }
        result.Add(s[start..]);
        return result;
    }

    private static List<object?> RSplit(string s, string? sep, long maxsplit)
    {
        if (maxsplit < 0) return Split(s, sep, -1);
        var result = new List<object?>();
        if (sep is null)
        {
            int j = s.Length;
            while (true)
            {
                while (j > 0 && Py.IsSpace(s[j - 1])) j--;
                if (j <= 0) break;
                if (result.Count >= maxsplit)
                {
                    result.Add(s[..j]);
                    break;
                }
                int i = j;
                while (i > 0 && !Py.IsSpace(s[i - 1])) i--;
                result.Add(s[i..j]);
                j = i;
            }
        }
        else
        {
            if (sep.Length == 0) throw Py.TypeError("empty separator");
            int end = s.Length;
            while (result.Count < maxsplit)
            {
                int k = end - sep.Length < 0 ? -1 : s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
                if (k < 0) break;
                result.Add(s[(k + sep.Length)..end]);
                end = k;
            }
            result.Add(s[..end]);
        }
        result.Reverse();
        return result;
    }

    /// <summary>Python <c>str.title</c>: upper-case after any uncased character, lower-case otherwise.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c);
            sb.Append(prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = cased;
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static string ZFill(string s, int width)
    {
        if (s.Length >= width) return s;
        int signLen = s.Length > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;
        return s[..signLen] + new string('0', width - s.Length) + s[signLen..];
    }

    /// <summary><c>str.format</c> with <c>{}</c>, <c>{0}</c> and <c>{name}</c> fields (no format specs).</summary>
    private static string Format(string s, CallArgs a)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '{' && i + 1 < s.Length && s[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            int close = s.IndexOf('}', i);
            if (close < 0) throw Py.TypeError("Single '{' encountered in format string");
            string field = s[(i + 1)..close];
            int colon = field.IndexOf(':');
            if (colon >= 0) field = field[..colon];
            object? v;
            if (field.Length == 0) v = a.Positional.Count > auto ? a.Positional[auto++] : throw Py.TypeError("Replacement index out of range");
            else if (int.TryParse(field, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int idx))
                v = idx < a.Positional.Count ? a.Positional[idx] : throw Py.TypeError("Replacement index out of range");
            else v = a.Named.TryGetValue(field, out var nv) ? nv : throw Py.TypeError($"KeyError: '{field}'");
            string text = PyFormat.Str(v);
            RenderBudget.CheckLength(sb.Length + (long)text.Length, "a formatted string");
            RenderBudget.Allocate(text.Length, "a formatted string");
            sb.Append(text);
            i = close;
        }
        return sb.ToString();
    }
}

/// <summary>String helpers shared by methods and filters.</summary>
internal static class Strings
{
    public static string Replace(string s, string old, string replacement, long count)
    {
        // Charged before building: each of up to len(s) + 1 places may grow by the replacement.
        long places = old.Length == 0 ? Py.CodePointCount(s) + 1L : Count(s, old);
        if (count >= 0) places = Math.Min(places, count);
        RenderBudget.Allocate(s.Length + places * Math.Max(0, replacement.Length - old.Length), "a replaced string");
        if (count < 0) return old.Length == 0 ? InsertBetween(s, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        if (old.Length == 0) return InsertBetween(s, replacement, count);
        var sb = new StringBuilder();
        int start = 0;
        for (long n = 0; n < count; n++)
        {
            int k = s.IndexOf(old, start, StringComparison.Ordinal);
            if (k < 0) break;
            sb.Append(s, start, k - start).Append(replacement);
            start = k + old.Length;
        }
        return sb.Append(s, start, s.Length - start).ToString();
    }

    // Python's "abc".replace("", "-") == "-a-b-c-".
    private static string InsertBetween(string s, string ins, long count)
    {
        var sb = new StringBuilder();
        long n = 0;
        foreach (var r in s.EnumerateRunes())
        {
            if (n++ < count) sb.Append(ins);
            sb.Append(r.ToString());
        }
        if (n < count) sb.Append(ins);
        return sb.ToString();
    }

    public static int Count(string s, string sub)
    {
        if (sub.Length == 0) return Py.CodePointCount(s) + 1;
        int n = 0;
        for (int k = s.IndexOf(sub, StringComparison.Ordinal); k >= 0; k = s.IndexOf(sub, k + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>A width argument (center, ljust, indent ...): negative ones act as 0, as in Python; huge ones are refused before allocating.</summary>
    public static int Width(object? value)
    {
        long w = Py.ToLong(value);
        RenderBudget.Allocate(Math.Max(0, w), "a padded string");
        return (int)Math.Clamp(w, 0, int.MaxValue);
    }

    /// <summary>Python's fillchar: exactly one character.</summary>
    public static char FillChar(object? value) =>
        value is string { Length: 1 } s ? s[0] : throw Py.TypeError("The fill character must be exactly one character long");

    /// <summary>str.join and the join filter, charged to the render's budget before the result is built.</summary>
    public static string Join(string separator, IEnumerable<string> items)
    {
        var list = items.ToList();
        long length = (long)separator.Length * Math.Max(0, list.Count - 1);
        foreach (var item in list) length += item.Length;
        RenderBudget.Allocate(length, "a joined string");
        return string.Join(separator, list);
    }

    public static string Center(string s, int width, char fill)
    {
        if (s.Length >= width) return s;
        int marg = width - s.Length;
        int left = marg / 2 + (marg & width & 1); // CPython's rounding of the left margin
        return new string(fill, left) + s + new string(fill, marg - left);
    }

    /// <summary>Python <c>str.splitlines</c>: all Unicode line boundaries, "\r\n" as one.</summary>
    public static List<object?> SplitLines(string s, bool keepEnds)
    {
        var result = new List<object?>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            bool brk = c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029';
            if (!brk) { i++; continue; }
            int eol = i + (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1);
            result.Add(keepEnds ? s[start..eol] : s[start..i]);
            start = i = eol;
        }
        if (start < s.Length) result.Add(s[start..]);
        return result;
    }
}
