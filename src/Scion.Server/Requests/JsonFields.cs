using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Server.Http;

namespace Scion.Server.Requests;

/// <summary>Typed reads of a request body's fields; a wrong type is a 400 naming the field, what was expected and what was found.</summary>
internal sealed class JsonFields(JsonObject body)
{
    public JsonObject Body { get; } = body;

    /// <summary>Put before field names in errors: "method.supervised.hyperparameters." for a nested object.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>The object under <paramref name="name"/> (null when absent), with its path as the error prefix.</summary>
    public JsonFields? Object(string name)
    {
        var v = this[name];
        if (v is null) return null;
        if (v is not JsonObject o) throw Wrong(Prefix + name, "an object", v);
        return new JsonFields(o) { Prefix = Prefix + name + "." };
    }

    public static async Task<JsonFields> ReadAsync(Microsoft.AspNetCore.Http.HttpRequest request, CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancel);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        // JsonNode reads UTF-8, duplicate keys and lone surrogate escapes only when a field is used, and then throws
        // InvalidOperationException or ArgumentException (a 500 naming no field): the body is checked whole first.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
            throw new ApiError(400, "The request body is not valid UTF-8 text.", null, "invalid_json");
        JsonNode? node;
        try
        {
            using (var doc = JsonDocument.Parse(bytes))
                if (Scion.Models.Formats.JsonTextCheck.Problem(doc.RootElement) is { } problem)
                    throw new ApiError(400, $"The request body is not usable JSON: {problem}.", null, "invalid_json");
            node = JsonNode.Parse(bytes.Span);
        }
        catch (JsonException e)
        {
            throw new ApiError(400, $"The request body is not valid JSON: {e.Message}", null, "invalid_json");
        }
        if (node is not JsonObject obj)
            throw new ApiError(400, $"The request body must be a JSON object, found {Kind(node)}.", null, "invalid_json");
        return new JsonFields(obj);
    }

    public static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => "a boolean",
    };

    public JsonNode? this[string name] => Body.TryGetPropertyValue(name, out var v) ? v : null;

    public bool Has(string name) => this[name] is not null;

    public string? String(string name)
    {
        var v = this[name];
        if (v is null) return null;
        if (v.GetValueKind() != JsonValueKind.String) throw Wrong(Prefix + name, "a string", v);
        return v.GetValue<string>();
    }

    public bool? Bool(string name)
    {
        var v = this[name];
        if (v is null) return null;
        return v.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(Prefix + name, "true or false", v),
        };
    }

    public double? Number(string name, double min, double max)
    {
        var v = this[name];
        if (v is null) return null;
        if (v.GetValueKind() != JsonValueKind.Number) throw Wrong(Prefix + name, "a number", v);
        double d = v.GetValue<double>();
        if (!(d >= min && d <= max)) throw ApiError.BadField(Prefix + name, $"{Prefix}{name}: expected a number in [{min}, {max}], got {d}.");
        return d;
    }

    public int? Int(string name, int min, int max)
    {
        var v = this[name];
        if (v is null) return null;
        if (v.GetValueKind() != JsonValueKind.Number || !v.AsValue().TryGetValue(out long l))
            throw Wrong(Prefix + name, "an integer", v);
        if (l < min || l > max) throw ApiError.BadField(Prefix + name, $"{Prefix}{name}: expected an integer in {min}..{max}, got {l}.");
        return (int)l;
    }

    public long? Long(string name)
    {
        var v = this[name];
        if (v is null) return null;
        if (v.GetValueKind() != JsonValueKind.Number || !v.AsValue().TryGetValue(out long l)) throw Wrong(Prefix + name, "an integer", v);
        return l;
    }

    /// <summary>OpenAI's stop: a string or a list of up to four strings.</summary>
    public IReadOnlyList<string> Stop()
    {
        var v = this["stop"];
        if (v is null) return [];
        if (v.GetValueKind() == JsonValueKind.String) return [v.GetValue<string>()];
        if (v is not JsonArray list) throw Wrong("stop", "a string or a list of strings", v);
        if (list.Count > 4) throw ApiError.BadField("stop", $"stop: expected at most 4 strings, got {list.Count}.");
        var stops = new List<string>();
        foreach (var item in list)
        {
            if (item?.GetValueKind() != JsonValueKind.String) throw Wrong("stop", "a list of strings", item);
            string s = item.GetValue<string>();
            if (s.Length == 0) throw ApiError.BadField("stop", "stop: an empty stop string would end every reply at once.");
            stops.Add(s);
        }
        return stops;
    }

    /// <summary>logit_bias: {"token id": bias}.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias()
    {
        var v = this["logit_bias"];
        if (v is null) return null;
        if (v is not JsonObject map) throw Wrong("logit_bias", "an object of token id → bias", v);
        var bias = new Dictionary<int, float>();
        foreach (var (key, value) in map)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                throw ApiError.BadField("logit_bias", $"logit_bias: keys must be token ids, found '{key}'.");
            if (value?.GetValueKind() != JsonValueKind.Number) throw Wrong("logit_bias", "numbers as biases", value);
            bias[id] = value.GetValue<float>();
        }
        return bias;
    }

    public bool IncludeUsage()
    {
        var v = this["stream_options"];
        if (v is null) return false;
        if (v is not JsonObject o) throw Wrong("stream_options", "an object", v);
        var include = o["include_usage"];
        if (include is null) return false;
        return include.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong("stream_options.include_usage", "true or false", include),
        };
    }

    public static ApiError Wrong(string name, string expected, JsonNode? found) =>
        ApiError.BadField(name, $"{name}: expected {expected}, found {Kind(found)}.");
}
