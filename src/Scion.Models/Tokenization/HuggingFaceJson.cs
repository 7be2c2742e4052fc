using System.Text.Json;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>Small readers for tokenizer.json fields shared by the component factories.</summary>
internal static class HuggingFaceJson
{
    public static string Type(JsonElement e, string source, string what) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
            : throw new ModelFormatException($"{source}: {what} has no \"type\".");

    public static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    /// <summary>A pattern object {"String": "..."} or {"Regex": "..."}.</summary>
    public static (string Pattern, bool IsRegex) Pattern(JsonElement e, string source)
    {
        if (e.TryGetProperty("String", out var s)) return (s.GetString() ?? "", false);
        if (e.TryGetProperty("Regex", out var r)) return (r.GetString() ?? "", true);
        throw new ModelFormatException($"{source}: pattern {e.GetRawText()} is neither {{\"String\": ...}} nor {{\"Regex\": ...}}.");
    }

    public static char Replacement(JsonElement e)
    {
        string r = e.TryGetProperty("replacement", out var v) ? v.GetString() ?? "\u2581" : "\u2581";
        return r.Length == 1 ? r[0] : '\u2581';
    }

    /// <summary>Metaspace's prepend_scheme, or the older add_prefix_space flag.</summary>
    public static string PrependScheme(JsonElement e) =>
        e.TryGetProperty("prepend_scheme", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!
            : Bool(e, "add_prefix_space", true) ? "always" : "never";

    /// <summary>A token given as a string or as an AddedToken object {"content": ...}.</summary>
    public static string? TokenContent(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        } : null;
}
