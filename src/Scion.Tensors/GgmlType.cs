namespace Scion.Tensors;

/// <summary>Storage types of weights, numbered as GGUF/ggml number them (the ids are part of the file format).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
}

/// <summary>Block geometry of each storage type: a row of n values takes n / BlockSize blocks of BlockBytes.</summary>
public static class GgmlTypeInfo
{
    /// <summary>Values per block (1 for plain float types).</summary>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.F64 or GgmlType.I8 or GgmlType.I16 or GgmlType.I32 or GgmlType.I64 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.Q8_1 or GgmlType.IQ4_NL => 32,
        _ => 256,
    };

    /// <summary>Bytes per block, or -1 for an id this build does not know.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 => 2,
        GgmlType.BF16 => 2,
        GgmlType.F64 => 8,
        GgmlType.I8 => 1,
        GgmlType.I16 => 2,
        GgmlType.I32 => 4,
        GgmlType.I64 => 8,
        GgmlType.Q4_0 => 2 + 16,
        GgmlType.Q4_1 => 2 + 2 + 16,
        GgmlType.Q5_0 => 2 + 4 + 16,
        GgmlType.Q5_1 => 2 + 2 + 4 + 16,
        GgmlType.Q8_0 => 2 + 32,
        GgmlType.Q8_1 => 4 + 4 + 32,
        GgmlType.Q2_K => 256 / 16 + 256 / 4 + 2 + 2,
        GgmlType.Q3_K => 256 / 8 + 256 / 4 + 12 + 2,
        GgmlType.Q4_K => 2 + 2 + 12 + 256 / 2,
        GgmlType.Q5_K => 2 + 2 + 12 + 256 / 8 + 256 / 2,
        GgmlType.Q6_K => 256 / 2 + 256 / 4 + 256 / 16 + 2,
        GgmlType.Q8_K => 4 + 256 + 2 * 256 / 16,
        GgmlType.IQ4_NL => 2 + 16,
        GgmlType.IQ4_XS => 2 + 2 + 256 / 64 + 256 / 2,
        _ => -1,
    };

    public static bool IsKnown(GgmlType type) => BlockBytes(type) > 0;

    /// <summary>The types the kernels of this build can multiply with.</summary>
    public static bool IsSupportedForCompute(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_K or GgmlType.Q6_K;

    /// <summary>Bytes taken by a row of <paramref name="cols"/> values; the row length must be a whole number of blocks.</summary>
    public static long RowBytes(GgmlType type, long cols)
    {
        int bs = BlockSize(type), bb = BlockBytes(type);
        if (bb < 0) throw new NotSupportedException($"Unknown ggml type id {(uint)type}.");
        if (cols % bs != 0) throw new ArgumentException($"A row of {cols} values is not a whole number of {type} blocks of {bs}.");
        return cols / bs * bb;
    }
}
