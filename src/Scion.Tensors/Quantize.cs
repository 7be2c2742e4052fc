using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>fp32 row → stored type, following llama.cpp's reference quantizers (no importance matrix).</summary>
public static unsafe class Quantize
{
    /// <summary>Types <see cref="Row"/> can write.</summary>
    public static bool CanQuantizeTo(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_K or GgmlType.Q6_K;

    /// <summary>Encodes all of <paramref name="src"/> (a whole number of blocks) into <paramref name="dst"/>.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (!CanQuantizeTo(type)) throw new NotSupportedException($"Quantizing to {type} is not supported.");
        long need = GgmlTypeInfo.RowBytes(type, src.Length);
        if (dst.Length < need) throw new ArgumentException($"{src.Length} values as {type} need {need} bytes, got {dst.Length}.");
        fixed (float* s = src) fixed (byte* d = dst) ReferenceQuantize.Row(type, s, d, src.Length);
    }
}
