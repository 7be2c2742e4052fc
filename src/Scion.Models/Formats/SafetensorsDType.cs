using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>The dtype names of the safetensors format, their element sizes, and the ggml type each maps to.</summary>
public static class SafetensorsDType
{
    /// <summary>Bytes per element for every dtype the format defines, or -1 for a name it does not define.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" => 8,
        _ => -1,
    };

    /// <summary>The weight types Scion reads from safetensors; the rest are listed but refused when read.</summary>
    public static bool IsSupported(string dtype) => dtype is "F32" or "F16" or "BF16";

    public static GgmlType? ToGgmlType(string dtype) => dtype switch
    {
        "F32" => GgmlType.F32,
        "F16" => GgmlType.F16,
        "BF16" => GgmlType.BF16,
        _ => null,
    };

    public static string FromGgmlType(GgmlType type) => type switch
    {
        GgmlType.F32 => "F32",
        GgmlType.F16 => "F16",
        GgmlType.BF16 => "BF16",
        GgmlType.F64 => "F64",
        GgmlType.I8 => "I8",
        GgmlType.I16 => "I16",
        GgmlType.I32 => "I32",
        GgmlType.I64 => "I64",
        _ => throw new ArgumentException($"ggml type {type} has no safetensors dtype (quantized types are GGUF-only).", nameof(type)),
    };
}
