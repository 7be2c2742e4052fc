using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// JSON in and out of the template value model. Output matches Python's
/// <c>json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...)</c>, which is what transformers'
/// <c>tojson</c> filter calls: ", " and ": " separators inline, "," plus newlines when indented.
/// </summary>
internal static class TemplateJson
{
    public static string Dumps(object? value, string? indent, bool sortKeys = false, bool ensureAscii = false,
        string? itemSeparator = null, string? keySeparator = null)
    {
        var sb = new StringBuilder();
        itemSeparator ??= indent is null ? ", " : ",";
        keySeparator ??= ": ";
        Write(sb, value, indent, 0, sortKeys, ensureAscii, itemSeparator, keySeparator);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, string? indent, int level, bool sortKeys, bool ascii, string itemSep, string keySep)
    {
        // As for repr: self-containing lists and huge outputs are refused through the render's budget.
        RenderBudget.Step();
        RenderBudget.EnsureStack();
        RenderBudget.CheckLength(sb.Length, "the JSON text of a value");
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFormat.Float(d));
                break;
            case string s: WriteString(sb, s, ascii); break;
            case IList<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, indent, level + 1);
                    Write(sb, list[i], indent, level + 1, sortKeys, ascii, itemSep, keySep);
                }
                NewLine(sb, indent, level);
                sb.Append(']');
                break;
            case IReadOnlyDictionary<string, object?> dict:
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                IEnumerable<KeyValuePair<string, object?>> entries = sortKeys ? dict.OrderBy(kv => kv.Key, StringComparer.Ordinal) : dict;
                bool first = true;
                foreach (var (k, v) in entries)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(sb, indent, level + 1);
                    WriteString(sb, k, ascii);
                    sb.Append(keySep);
                    Write(sb, v, indent, level + 1, sortKeys, ascii, itemSep, keySep);
                }
                NewLine(sb, indent, level);
                sb.Append('}');
                break;
            default:
                throw new TemplateException($"Object of type {Py.TypeName(value)} is not JSON serializable");
        }
    }

    private static void NewLine(StringBuilder sb, string? indent, int level)
    {
        if (indent is null) return;
        RenderBudget.Allocate(1 + (long)level * indent.Length, "the JSON indentation");
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(indent);
    }

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>
    /// A JSON node as a template value, the way Python's <c>json.loads</c> would give it:
    /// numbers without a fraction or exponent stay integers, objects keep their key order.
    /// </summary>
    public static object? FromNode(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
                {
                    var dict = new Dictionary<string, object?>(obj.Count, StringComparer.Ordinal);
                    foreach (var (k, v) in obj) dict[k] = FromNode(v);
                    return dict;
                }
            case JsonArray arr:
                {
                    var list = new List<object?>(arr.Count);
                    foreach (var v in arr) list.Add(FromNode(v));
                    return list;
                }
            case JsonValue val:
                if (val.TryGetValue<JsonElement>(out var el)) return FromElement(el);
                if (val.TryGetValue<string>(out var s)) return s;
                if (val.TryGetValue<bool>(out var b)) return b;
                if (val.TryGetValue<long>(out var l)) return l;
                if (val.TryGetValue<int>(out var i)) return (long)i;
                if (val.TryGetValue<double>(out var d)) return d;
                if (val.TryGetValue<float>(out var f)) return (double)f;
                if (val.TryGetValue<decimal>(out var m)) return (double)m;
                return FromElement(JsonSerializer.SerializeToElement(val));
            default:
                throw new TemplateException($"unsupported JSON node {node.GetType().Name}");
        }
    }

    public static object? FromElement(JsonElement el)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Null: case JsonValueKind.Undefined: return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return el.GetString();
            case JsonValueKind.Number:
                {
                    string raw = el.GetRawText();
                    bool integral = raw.IndexOfAny(['.', 'e', 'E']) < 0;
                    if (integral && el.TryGetInt64(out long l)) return l;
                    return el.GetDouble();
                }
            case JsonValueKind.Array:
                {
                    var list = new List<object?>();
                    foreach (var x in el.EnumerateArray()) list.Add(FromElement(x));
                    return list;
                }
            case JsonValueKind.Object:
                {
                    var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var p in el.EnumerateObject()) dict[p.Name] = FromElement(p.Value);
                    return dict;
                }
            default: throw new TemplateException($"unsupported JSON value kind {el.ValueKind}");
        }
    }

    /// <summary>
    /// Brings caller-supplied values into the value model: other integer and float types widen to
    /// long/double, JSON nodes convert, and sequences/maps of other element types are copied.
    /// </summary>
    public static object? Normalize(object? v)
    {
        switch (v)
        {
            case null or string or bool or long or double or Undefined or Namespace or Callable: return v;
            case int or short or sbyte or byte or ushort or uint: return Convert.ToInt64(v, CultureInfo.InvariantCulture);
            case ulong u: return u <= long.MaxValue ? (long)u : (double)u;
            case float f: return (double)f;
            case decimal m: return (double)m;
            case char c: return c.ToString();
            case JsonNode node: return FromNode(node);
            case JsonElement el: return FromElement(el);
            case IReadOnlyDictionary<string, object?> dict:
                {
                    var copy = new Dictionary<string, object?>(dict.Count, StringComparer.Ordinal);
                    foreach (var (k, x) in dict) copy[k] = Normalize(x);
                    return copy;
                }
            case IDictionary dict:
                {
                    var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (DictionaryEntry e in dict) copy[Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? ""] = Normalize(e.Value);
                    return copy;
                }
            case TupleValue t: return new TupleValue([.. t.Select(Normalize)]);
            case IEnumerable seq:
                {
                    var list = new List<object?>();
                    foreach (var x in seq) list.Add(Normalize(x));
                    return list;
                }
            default:
                throw new TemplateException($"unsupported template variable type {v.GetType().Name}");
        }
    }
}
