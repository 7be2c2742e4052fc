using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Quantization;

/// <summary>
/// Which storage type each tensor of a model gets for one output type name (`scion quantize --type`), following
/// llama.cpp's llama-quantize defaults (llama_tensor_get_type) for the types this engine can write:
/// <list type="bullet">
/// <item>Only matrices are converted; norm weights, biases and rope_freqs stay F32.</item>
/// <item>F32, F16, BF16: every matrix, embedding and output included, in that type.</item>
/// <item>Q8_0, Q4_0, Q6_K: every matrix in that type, except the output projection (the embedding when tied),
///   which llama.cpp keeps at Q6_K for anything below Q8_0 because errors there hit every logit directly.</item>
/// <item>Q4_K_M: Q4_K, the output as above, and Q6_K for the attn_v and ffn_down matrices of the layers that
///   <see cref="UseMoreBits"/> picks (about half of them).</item>
/// <item>Q4_K: pure Q4_K (llama-quantize --pure), so benchmarks measure one kernel.</item>
/// </list>
/// A row length that is not a whole number of the chosen type's blocks (stories260K's FFN is 172 wide; K-quant
/// blocks hold 256) falls back: K-quants to Q8_0 (llama.cpp picks Q5_0 for Q4_K, which this engine cannot run),
/// and then anything to F16 when even 32-value blocks do not fit. Every fallback is reported.
/// </summary>
public sealed class QuantizationMix
{
    public string Name { get; }
    public GgmlType BaseType { get; }
    /// <summary>llama.cpp's llama_ftype id for <c>general.file_type</c>.</summary>
    public uint FileType { get; }
    private readonly bool _outputRule;
    private readonly bool _moreBitsRule;

    private QuantizationMix(string name, GgmlType baseType, uint fileType, bool outputRule, bool moreBitsRule)
    {
        Name = name;
        BaseType = baseType;
        FileType = fileType;
        _outputRule = outputRule;
        _moreBitsRule = moreBitsRule;
    }

    public static readonly IReadOnlyList<string> Names = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q4_K_M"];

    public static QuantizationMix Parse(string name) => name.ToUpperInvariant() switch
    {
        "F32" => new("F32", GgmlType.F32, 0, false, false),
        "F16" => new("F16", GgmlType.F16, 1, false, false),
        "BF16" => new("BF16", GgmlType.BF16, 32, false, false),
        "Q8_0" => new("Q8_0", GgmlType.Q8_0, 7, true, false),
        "Q4_0" => new("Q4_0", GgmlType.Q4_0, 2, true, false),
        // llama.cpp has no "pure Q4_K" file type; Q4_K_S (14) is the "mostly Q4_K" id.
        "Q4_K" => new("Q4_K", GgmlType.Q4_K, 14, false, false),
        "Q6_K" => new("Q6_K", GgmlType.Q6_K, 18, true, false),
        "Q4_K_M" => new("Q4_K_M", GgmlType.Q4_K, 15, true, true),
        _ => throw new ArgumentException($"Unknown output type '{name}' (supported: {string.Join(", ", Names)})."),
    };

    /// <summary>
    /// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer in between,
    /// get the larger type in the _M mixes (integer division, as there).
    /// </summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>True for tensors that are converted (2-D weights that are not norms).</summary>
    public static bool IsMatrix(string name, long[] shape) =>
        shape.Length >= 2 && shape.Skip(1).Any(d => d > 1) && name.EndsWith(".weight", StringComparison.Ordinal)
        && !name.EndsWith("_norm.weight", StringComparison.Ordinal);

    /// <summary>The type for one tensor; <paramref name="fallback"/> says why it differs from the rule's choice, if it does.</summary>
    /// <param name="shape">ggml order: row length first.</param>
    /// <param name="layers">block count of the model.</param>
    /// <param name="hasOutput">false when the output projection is the tied embedding.</param>
    public GgmlType TypeFor(string name, long[] shape, int layers, bool hasOutput, out string? fallback)
    {
        fallback = null;
        if (!IsMatrix(name, shape)) return GgmlType.F32;
        var type = BaseType;
        if (GgmlTypeInfo.BlockSize(BaseType) == 1) return type;

        bool isOutput = name == TensorNames.Output || (!hasOutput && name == TensorNames.TokenEmbedding);
        if (_outputRule && isOutput && type != GgmlType.Q8_0) type = GgmlType.Q6_K;
        if (_moreBitsRule && LayerOf(name) is int layer
            && (name.EndsWith(".attn_v.weight", StringComparison.Ordinal) || name.EndsWith(".ffn_down.weight", StringComparison.Ordinal))
            && UseMoreBits(layer, layers))
            type = GgmlType.Q6_K;

        return FitRowLength(type, shape[0], out fallback);
    }

    /// <summary>
    /// <paramref name="type"/> when a row of <paramref name="cols"/> values is a whole number of its blocks; else the
    /// fallback (K-quants to Q8_0 when 32-value blocks fit, anything else to F16), with <paramref name="fallback"/> saying why.
    /// </summary>
    public static GgmlType FitRowLength(GgmlType type, long cols, out string? fallback)
    {
        fallback = null;
        if (cols % GgmlTypeInfo.BlockSize(type) == 0) return type;
        var chosen = type;
        type = GgmlTypeInfo.BlockSize(type) == 256 && cols % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16;
        fallback = $"rows of {cols} are not whole {chosen} blocks of {GgmlTypeInfo.BlockSize(chosen)}; using {type}";
        return type;
    }

    private static int? LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return null;
        int dot = name.IndexOf('.', 4);
        return dot > 4 && int.TryParse(name.AsSpan(4, dot - 4), out int l) ? l : null;
    }
}
