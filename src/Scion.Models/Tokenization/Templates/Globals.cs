using System.Globalization;
using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// Global functions available to every template: Jinja's <c>range</c>, <c>namespace</c>, <c>dict</c>,
/// and the two transformers adds, <c>raise_exception</c> and <c>strftime_now</c>.
/// </summary>
internal static class Globals
{
    public static Scope CreateScope(RenderContext context)
    {
        var scope = new Scope(null, context);
        scope.Set("range", new Callable("range", Range));
        scope.Set("namespace", new Callable("namespace", args =>
        {
            var ns = new Namespace();
            foreach (var p in args.Positional)
            {
                if (p is not IReadOnlyDictionary<string, object?> d) throw Py.TypeError("namespace() positional argument must be a mapping");
                foreach (var (k, v) in d) ns.Attributes[k] = v;
            }
            foreach (var (k, v) in args.Named) ns.Attributes[k] = v;
            return ns;
        }));
        scope.Set("dict", new Callable("dict", args =>
        {
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var p in args.Positional)
                if (p is IReadOnlyDictionary<string, object?> src) foreach (var (k, v) in src) d[k] = v;
            foreach (var (k, v) in args.Named) d[k] = v;
            return d;
        }));
        scope.Set("raise_exception", new Callable("raise_exception", args =>
            throw new TemplateException(PyFormat.Str(args.Get(0, "message", "")))));
        scope.Set("strftime_now", new Callable("strftime_now", args =>
            StrFTime(context.Clock(), PyFormat.Str(args.Get(0, "format", "")))));
        return scope;
    }

    private static object? Range(CallArgs args)
    {
        var p = args.Positional.Select(Py.ToLong).ToList();
        (long start, long stop, long step) = p.Count switch
        {
            1 => (0L, p[0], 1L),
            2 => (p[0], p[1], 1L),
            3 => (p[0], p[1], p[2]),
            _ => throw Py.TypeError($"range expected 1 to 3 arguments, got {p.Count}"),
        };
        if (step == 0) throw Py.TypeError("range() arg 3 must not be zero");
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (result.Count >= 100_000) throw new TemplateException("range too big"); // Jinja's sandbox limit
            RenderBudget.Allocate(1, "a range");
            result.Add(i);
        }
        return result;
    }

    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>Python's <c>datetime.strftime</c> in the C locale, including glibc's "%-d" (no padding) form.</summary>
    public static string StrFTime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length) { sb.Append(c); continue; }
            char d = format[++i];
            bool noPad = false;
            if (d == '-' && i + 1 < format.Length)
            {
                noPad = true;
                d = format[++i];
            }
            string Num(int v, int width) => noPad ? v.ToString(inv) : v.ToString(new string('0', width), inv);
            int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            sb.Append(d switch
            {
                'a' => Days[(int)t.DayOfWeek][..3],
                'A' => Days[(int)t.DayOfWeek],
                'b' or 'h' => Months[t.Month - 1][..3],
                'B' => Months[t.Month - 1],
                'c' => $"{Days[(int)t.DayOfWeek][..3]} {Months[t.Month - 1][..3]} {t.Day,2} {t:HH:mm:ss} {t.Year}",
                'd' => Num(t.Day, 2),
                'e' => noPad ? t.Day.ToString(inv) : t.Day.ToString(inv).PadLeft(2),
                'H' => Num(t.Hour, 2),
                'I' => Num(hour12, 2),
                'j' => Num(t.DayOfYear, 3),
                'm' => Num(t.Month, 2),
                'M' => Num(t.Minute, 2),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'S' => Num(t.Second, 2),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv),
                'w' => ((int)t.DayOfWeek).ToString(inv),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(inv),
                'y' => Num(t.Year % 100, 2),
                'Y' => t.Year.ToString(inv),
                'x' => t.ToString("MM/dd/yy", inv),
                'X' or 'T' => t.ToString("HH:mm:ss", inv),
                'D' => t.ToString("MM/dd/yy", inv),
                'F' => t.ToString("yyyy-MM-dd", inv),
                'R' => t.ToString("HH:mm", inv),
                'z' or 'Z' => "",
                'n' => "\n",
                't' => "\t",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + d,
            });
        }
        return sb.ToString();
    }
}
