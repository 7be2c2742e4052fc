using System.Globalization;
using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// Python's <c>str()</c> and <c>repr()</c> of template values, so that printing a list, a float or None
/// gives exactly the text Jinja2 (running on CPython) would.
/// </summary>
internal static class PyFormat
{
    /// <summary>Python <c>str(value)</c>; Undefined prints as "".</summary>
    public static string Str(object? value) => value switch
    {
        string s => s,
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        Undefined => "",
        _ => Repr(value),
    };

    /// <summary>Python <c>repr(value)</c>.</summary>
    public static string Repr(object? value)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, value);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? value)
    {
        // A list appended to itself recurses forever; a list of one long string repeated a million times prints
        // a string too long to build. Both are refused through the render's budget.
        RenderBudget.Step();
        RenderBudget.EnsureStack();
        RenderBudget.CheckLength(sb.Length, "the text of a value");
        switch (value)
        {
            case string s: AppendStringRepr(sb, s); break;
            case TupleValue t:
                sb.Append('(');
                for (int i = 0; i < t.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, t[i]);
                }
                if (t.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case IList<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, list[i]);
                }
                sb.Append(']');
                break;
            case IReadOnlyDictionary<string, object?> dict:
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStringRepr(sb, k);
                    sb.Append(": ");
                    AppendRepr(sb, v);
                }
                sb.Append('}');
                break;
            case Namespace ns:
                sb.Append("<Namespace ");
                AppendRepr(sb, (IReadOnlyDictionary<string, object?>)ns.Attributes);
                sb.Append('>');
                break;
            case LoopContext loop: sb.Append("<LoopContext ").Append(loop.Index).Append('/').Append(loop.Length).Append('>'); break;
            case Callable c: sb.Append("<function ").Append(c.Name).Append('>'); break;
            case GeneratorValue g: sb.Append("<generator object ").Append(g.Name).Append('>'); break;
            case Undefined: sb.Append("Undefined"); break;
            default: sb.Append(Str(value)); break;
        }
    }

    /// <summary>Python's string repr: single quotes unless the text holds ' and no ", escaping non-printables.</summary>
    public static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (var rune in s.EnumerateRunes())
        {
            int c = rune.Value;
            if (c == quote || c == '\\') sb.Append('\\').Append((char)c);
            else if (c == '\t') sb.Append("\\t");
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(c.ToString("x2"));
            else if (c < 0x7f || IsPrintable(rune)) sb.Append(rune.ToString());
            else if (c <= 0xff) sb.Append("\\x").Append(c.ToString("x2"));
            else if (c <= 0xffff) sb.Append("\\u").Append(c.ToString("x4"));
            else sb.Append("\\U").Append(c.ToString("x8"));
        }
        sb.Append(quote);
    }

    // Python's str.isprintable: everything except the "Other" and "Separator" categories, space excepted.
    private static bool IsPrintable(Rune r)
    {
        switch (Rune.GetUnicodeCategory(r))
        {
            case UnicodeCategory.Control:
            case UnicodeCategory.Format:
            case UnicodeCategory.Surrogate:
            case UnicodeCategory.PrivateUse:
            case UnicodeCategory.OtherNotAssigned:
            case UnicodeCategory.LineSeparator:
            case UnicodeCategory.ParagraphSeparator:
                return false;
            case UnicodeCategory.SpaceSeparator:
                return r.Value == ' ';
            default:
                return true;
        }
    }

    /// <summary>
    /// Python <c>repr(float)</c>: the shortest digits that round-trip, positional for decimal exponents
    /// -4..15 (always with a ".0" when integral), scientific <c>1e+16</c> style otherwise.
    /// </summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";

        string r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r[0] == '-';
        if (negative) r = r[1..];
        int exp10 = 0;
        int ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exp10 = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ePos];
        }
        int dot = r.IndexOf('.');
        string digits = dot >= 0 ? r[..dot] + r[(dot + 1)..] : r;
        int intLen = dot >= 0 ? dot : r.Length;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; intLen--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        int pointPos = intLen + exp10; // value = 0.<digits> * 10^pointPos
        int sciExp = pointPos - 1;

        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (sciExp < -4 || sciExp >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(sciExp < 0 ? '-' : '+').Append(Math.Abs(sciExp).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (pointPos <= 0)
        {
            sb.Append("0.").Append('0', -pointPos).Append(digits);
        }
        else if (pointPos >= digits.Length)
        {
            sb.Append(digits).Append('0', pointPos - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, pointPos).Append('.').Append(digits, pointPos, digits.Length - pointPos);
        }
        return sb.ToString();
    }
}
