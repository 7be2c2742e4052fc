using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>
/// Checked readers for tokenizer.json fields shared by the component factories. A tokenizer.json is untrusted
/// input: JsonElement's own accessors throw InvalidOperationException or KeyNotFoundException for a field of the
/// wrong kind or a missing one, naming neither file nor field, so every read goes through these, which throw
/// <see cref="ModelFormatException"/> saying what was expected and what was found.
/// </summary>
internal static class HuggingFaceJson
{
    /// <summary>How long one match of a tokenizer.json regex may run: a backtracking pattern must not hang encoding.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    public static string Type(JsonElement e, string source, string what) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
            : throw new ModelFormatException($"{source}: {what} {(e.ValueKind == JsonValueKind.Object ? "has no \"type\" string" : $"is a JSON {Kind(e)}, expected an object with a \"type\"")}.");

    public static bool Bool(JsonElement e, string name, bool fallback) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    /// <summary>The field <paramref name="name"/> of the object <paramref name="e"/>; absent is an error.</summary>
    public static JsonElement Required(JsonElement e, string name, string source, string what) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v
            : throw new ModelFormatException($"{source}: {what} {(e.ValueKind == JsonValueKind.Object ? $"has no \"{name}\"" : $"is a JSON {Kind(e)}, expected an object")}.");

    /// <summary>The field, or null when it is absent or JSON null.</summary>
    public static JsonElement? Optional(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static JsonElement.ArrayEnumerator Array(JsonElement v, string source, string what) =>
        v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw Wrong(source, what, "a list", v);

    public static JsonElement.ObjectEnumerator Object(JsonElement v, string source, string what) =>
        v.ValueKind == JsonValueKind.Object ? v.EnumerateObject() : throw Wrong(source, what, "an object", v);

    public static string String(JsonElement v, string source, string what) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Wrong(source, what, "a string", v);

    /// <summary>An optional string field: absent or null gives <paramref name="fallback"/>.</summary>
    public static string String(JsonElement e, string name, string fallback, string source, string what) =>
        Optional(e, name) is { } v ? String(v, source, what) : fallback;

    public static int Int(JsonElement v, string source, string what) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Wrong(source, what, "an integer", v);

    /// <summary>An optional integer field: absent or null gives <paramref name="fallback"/>.</summary>
    public static int Int(JsonElement e, string name, int fallback, string source, string what) =>
        Optional(e, name) is { } v ? Int(v, source, what) : fallback;

    /// <summary>A pattern object {"String": "..."} or {"Regex": "..."}; an empty one would match between every character.</summary>
    public static (string Pattern, bool IsRegex) Pattern(JsonElement e, string source)
    {
        (string, bool) result = e.ValueKind != JsonValueKind.Object ? throw Wrong(source, "pattern", "{\"String\": ...} or {\"Regex\": ...}", e)
            : e.TryGetProperty("String", out var s) ? (String(s, source, "pattern String"), false)
            : e.TryGetProperty("Regex", out var r) ? (String(r, source, "pattern Regex"), true)
            : throw new ModelFormatException($"{source}: pattern {e.GetRawText()} is neither {{\"String\": ...}} nor {{\"Regex\": ...}}.");
        if (result.Item1.Length == 0) throw new ModelFormatException($"{source}: pattern {e.GetRawText()} is empty.");
        return result;
    }

    /// <summary>A regex of the file, refused at load when it does not parse, and bounded in time per match.</summary>
    public static Regex Regex(string pattern, string source)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException($"{source}: regex '{pattern}' does not parse: {e.Message}", e);
        }
    }

    /// <summary>Runs a tokenizer.json regex over text, turning a match that times out into a refusal naming the pattern.</summary>
    public static T Bounded<T>(Regex regex, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (RegexMatchTimeoutException)
        {
            throw new InvalidDataException($"the tokenizer's regex '{regex}' ran for more than {regex.MatchTimeout.TotalSeconds:0.#} s on one match of this text; " +
                "the pattern in tokenizer.json backtracks without bound.");
        }
    }

    public static char Replacement(JsonElement e, string source)
    {
        string r = String(e, "replacement", "\u2581", source, "Metaspace replacement");
        return r.Length == 1 ? r[0] : '\u2581';
    }

    /// <summary>Metaspace's prepend_scheme, or the older add_prefix_space flag.</summary>
    public static string PrependScheme(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("prepend_scheme", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!
            : Bool(e, "add_prefix_space", true) ? "always" : "never";

    /// <summary>A token given as a string or as an AddedToken object {"content": ...}.</summary>
    public static string? TokenContent(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        } : null;

    public static ModelFormatException Wrong(string source, string what, string expected, JsonElement found) =>
        new($"{source}: {what} should be {expected}, found {(found.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? $"a JSON {Kind(found)}" : found.GetRawText())}.");

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();
}
