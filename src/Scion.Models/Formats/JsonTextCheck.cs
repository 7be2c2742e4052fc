using System.Text.Json;

namespace Scion.Models.Formats;

/// <summary>
/// Finds what System.Text.Json parses but cannot hand back: a key that appears twice in one object (JsonNode then
/// throws "An item with the same key has already been added") and a string or key holding an unpaired UTF-16
/// surrogate escape such as <c>"\ud800"</c> (reading it throws InvalidOperationException). Checking the parsed
/// document first lets a JSON-lines reader report either as bad input at its line, naming the field.
/// </summary>
public static class JsonTextCheck
{
    /// <summary>What is wrong and where (e.g. <c>key "text" appears twice in the top-level object</c>), or null.</summary>
    public static string? Problem(JsonElement root) => Walk(root, "");

    private static string? Walk(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return $"a key {Where(path)} holds {LoneSurrogate(p.ToString())}, which is not text";
                    }
                    string child = path.Length == 0 ? name : $"{path}.{name}";
                    if (!seen.Add(name)) return $"key \"{name}\" appears twice {Where(path)}";
                    if (Walk(p.Value, child) is { } problem) return problem;
                }
                return null;
            }
            case JsonValueKind.Array:
            {
                int i = 0;
                foreach (var item in e.EnumerateArray())
                    if (Walk(item, $"{path}[{i++}]") is { } problem) return problem;
                return null;
            }
            case JsonValueKind.String:
                try
                {
                    _ = e.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return $"field \"{path}\" holds {LoneSurrogate(e.GetRawText())}, which is not text (remove it or write the character it was meant to be)";
                }
            default:
                return null;
        }
    }

    private static string Where(string path) => path.Length == 0 ? "in the top-level object" : $"in \"{path}\"";

    /// <summary>The first \uXXXX escape in <paramref name="raw"/> that is a surrogate without its partner, quoted.</summary>
    private static string LoneSurrogate(string raw)
    {
        for (int i = 0; i + 5 < raw.Length; i++)
        {
            if (raw[i] != '\\') continue;
            if (raw[i + 1] != 'u') { i++; continue; }
            if (!TryHex(raw, i + 2, out int unit)) continue;
            if (char.IsHighSurrogate((char)unit) && i + 11 < raw.Length && raw[i + 6] == '\\' && raw[i + 7] == 'u'
                && TryHex(raw, i + 8, out int low) && char.IsLowSurrogate((char)low))
            {
                i += 11;
                continue;
            }
            if (char.IsSurrogate((char)unit)) return $"an unpaired UTF-16 surrogate escape \"{raw.Substring(i, 6)}\"";
            i += 5;
        }
        return "an unpaired UTF-16 surrogate escape";
    }

    /// <summary>The four hex digits at <paramref name="at"/> (the callers check they are inside the string).</summary>
    private static bool TryHex(string s, int at, out int value) =>
        int.TryParse(s.AsSpan(at, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
}
