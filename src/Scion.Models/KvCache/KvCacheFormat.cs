using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.KvCache;

/// <summary>
/// How a KV cache stores keys and values, as llama.cpp's -ctk / -ctv: F16 (the default), Q8_0 (34 bytes per 32
/// values, about half of F16) or Q4_0 (18 bytes per 32, about a quarter). Quantized rows are blocks of 32 along a
/// position's Hkv·Dh values, so a model's KV width must be a multiple of 32.
/// </summary>
public readonly record struct KvCacheFormat(GgmlType Keys, GgmlType Values)
{
    public static KvCacheFormat F16 => new(GgmlType.F16, GgmlType.F16);

    /// <summary>The names the command line takes, as llama.cpp spells them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["f16", "q8_0", "q4_0"];

    /// <summary>A cache type from its name (f16, q8_0, q4_0; any case); the error names the option and the choices.</summary>
    public static GgmlType ParseType(string name, string option = "cache type") => name.ToLowerInvariant() switch
    {
        "f16" => GgmlType.F16,
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        _ => throw new ArgumentException($"{option}: expected one of {string.Join(", ", Names)}, got '{name}'."),
    };

    public static string Name(GgmlType type) => type switch
    {
        GgmlType.F16 => "f16",
        GgmlType.Q8_0 => "q8_0",
        GgmlType.Q4_0 => "q4_0",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>Bytes of one position's keys (or values) in one layer.</summary>
    public static long RowBytes(GgmlType type, int kvDim) => GgmlTypeInfo.RowBytes(type, kvDim);

    /// <summary>Bytes one cached token takes over every layer, keys and values.</summary>
    public long BytesPerToken(LlamaConfig config) => config.Layers * (RowBytes(Keys, config.KvDim) + RowBytes(Values, config.KvDim));

    /// <summary>Throws naming the problem when this format cannot hold the model's keys and values.</summary>
    public void Validate(LlamaConfig config)
    {
        foreach (var (type, what) in new[] { (Keys, "K"), (Values, "V") })
        {
            if (!Tensors.Cpu.AttentionKernels.CanRead(type))
                throw new ArgumentException($"The {what} cache type must be one of {string.Join(", ", Names)}, got {Name(type)}.");
            if (type != GgmlType.F16 && config.KvDim % 32 != 0)
                throw new ArgumentException($"A {Name(type)} {what} cache stores blocks of 32 values, but this model's KV width is {config.KvDim} ({config.KvHeads} KV heads x {config.HeadDim}); use f16.");
        }
    }

    public override string ToString() => $"K {Name(Keys)}, V {Name(Values)}";
}
