using System.Globalization;
using System.Text.Json;

namespace Scion.Models.Formats;

/// <summary>
/// Typed reads of fields of a JSON object (config.json, adapter_config.json) that throw
/// <see cref="ModelFormatException"/> naming the file, the field, what was expected and what was found.
/// </summary>
internal sealed class JsonFields(JsonElement obj, string source)
{
    public string Source { get; } = source;
    public JsonElement Object { get; } = obj;

    public static JsonDocument ParseFile(string path)
    {
        if (Directory.Exists(path)) throw new ModelFormatException($"{path}: is a folder, expected a JSON file.");
        if (!File.Exists(path)) throw new ModelFormatException($"{path}: file is missing.");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>
    /// Parses untrusted JSON (a file's bytes, a safetensors header) into a document every later read can trust:
    /// valid UTF-8, valid JSON, no key twice in an object, no unpaired surrogate escape. JsonDocument checks the last
    /// two only when a key or string is read, and then throws InvalidOperationException naming neither file nor field.
    /// </summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> bytes, string source)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span)) throw new ModelFormatException($"{source}: not valid UTF-8 text.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{source}: not valid JSON: {e.Message}", e);
        }
        if (JsonTextCheck.Problem(doc.RootElement) is { } problem)
        {
            doc.Dispose();
            throw new ModelFormatException($"{source}: {problem}.");
        }
        return doc;
    }

    public static JsonFields Root(JsonDocument doc, string source) =>
        doc.RootElement.ValueKind == JsonValueKind.Object
            ? new JsonFields(doc.RootElement, source)
            : throw new ModelFormatException($"{source}: expected a JSON object at the top level, found {doc.RootElement.ValueKind}.");

    /// <summary>The field, or null when it is absent or JSON null.</summary>
    public JsonElement? Get(string name) =>
        Object.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public bool Has(string name) => Get(name) is not null;

    public ModelFormatException Missing(string name) => new($"{Source}: required field '{name}' is missing.");

    public ModelFormatException Wrong(string name, string expected, JsonElement found) =>
        new($"{Source}: field '{name}' should be {expected} but is {Describe(found)}.");

    public static string Describe(JsonElement e)
    {
        string text = e.GetRawText();
        return text.Length > 80 ? text[..77] + "..." : text;
    }

    public int RequireInt(string name) => GetInt(name) ?? throw Missing(name);

    public int? GetInt(string name) => Get(name) is { } v ? ToInt(name, v) : null;

    public int ToInt(string name, JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetInt32(out int i)) return i;
            // Some exporters write integers as 4096.0.
            if (v.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
        }
        throw Wrong(name, "an integer", v);
    }

    public double RequireDouble(string name) => GetDouble(name) ?? throw Missing(name);

    public double? GetDouble(string name) => Get(name) is { } v ? ToDouble(name, v) : null;

    /// <summary>A number beyond the double range (1e400) used to escape as a FormatException; it is refused like any other wrong value.</summary>
    public double ToDouble(string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Number) throw Wrong(name, "a number", v);
        return v.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw Wrong(name, "a finite number", v);
    }

    public bool? GetBool(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { } v => throw Wrong(name, "true or false", v),
    };

    public string? GetString(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { } v => throw Wrong(name, "a string", v),
    };

    public string RequireString(string name) => GetString(name) ?? throw Missing(name);

    /// <summary>An int or a list of ints, as an array (eos_token_id, layers_to_transform).</summary>
    public int[]? GetIntOrIntList(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number) return [ToInt(name, v)];
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "an integer or a list of integers", v);
        return v.EnumerateArray().Select(x => ToInt(name, x)).ToArray();
    }

    public string[]? GetStringList(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "a list of strings", v);
        return v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Wrong(name, "a list of strings", v)).ToArray();
    }

    public JsonFields? GetObject(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } v => new JsonFields(v, $"{Source} ({name})"),
        { } v => throw Wrong(name, "an object", v),
    };

    public static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
