using System.Globalization;

namespace Scion.Models.Formats;

/// <summary>
/// GGUF key/value metadata. Values are plain .NET objects: byte, sbyte, ushort, short, uint, int, float, bool,
/// string, ulong, long, double; arrays are typed arrays of those (string[], float[], int[] ...) and nested
/// arrays are object[].
/// </summary>
public sealed class GgufMetadata(IReadOnlyDictionary<string, object> values, string source)
{
    public IReadOnlyDictionary<string, object> Values { get; } = values;
    public string Source { get; } = source;

    public bool Contains(string key) => Values.ContainsKey(key);

    public object? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    public string? GetString(string key) => Get(key) switch
    {
        null => null,
        string s => s,
        var other => throw Mismatch(key, "a string", other),
    };

    public string RequireString(string key) => GetString(key) ?? throw Missing(key);

    public long? GetInteger(string key) => Get(key) switch
    {
        null => null,
        byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint ui => ui, int i => i, long l => l,
        ulong ul => ul <= long.MaxValue ? (long)ul : throw Mismatch(key, "an integer that fits in 64 bits", ul),
        bool bo => bo ? 1 : 0,
        var other => throw Mismatch(key, "an integer", other),
    };

    public long RequireInteger(string key) => GetInteger(key) ?? throw Missing(key);

    public double? GetFloat(string key) => Get(key) switch
    {
        null => null,
        float f => f, double d => d,
        byte or sbyte or ushort or short or uint or int or long or ulong => Convert.ToDouble(Get(key), CultureInfo.InvariantCulture),
        var other => throw Mismatch(key, "a number", other),
    };

    public bool? GetBool(string key) => Get(key) switch
    {
        null => null,
        bool b => b,
        byte or sbyte or ushort or short or uint or int or long or ulong => GetInteger(key) != 0,
        var other => throw Mismatch(key, "a bool", other),
    };

    /// <summary>An array value as T[]; integer arrays of another width are converted.</summary>
    public T[]? GetArray<T>(string key)
    {
        var v = Get(key);
        if (v is null) return null;
        if (v is T[] same) return same;
        if (v is Array arr && typeof(T) != typeof(string) && arr.GetType().GetElementType() is { IsPrimitive: true })
        {
            var result = new T[arr.Length];
            for (int i = 0; i < arr.Length; i++) result[i] = (T)Convert.ChangeType(arr.GetValue(i)!, typeof(T), CultureInfo.InvariantCulture);
            return result;
        }
        throw Mismatch(key, $"an array of {typeof(T).Name}", v);
    }

    private ModelFormatException Missing(string key) => new($"{Source}: metadata key '{key}' is missing.");

    private ModelFormatException Mismatch(string key, string expected, object found) =>
        new($"{Source}: metadata key '{key}' should be {expected} but is {found.GetType().Name} ({Describe(found)}).");

    private static string Describe(object v) => v is Array a ? $"array of {a.Length}" : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
}
