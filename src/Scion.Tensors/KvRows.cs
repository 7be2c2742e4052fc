namespace Scion.Tensors;

/// <summary>
/// Rows of a KV cache as attention's kernels read them: <see cref="Type"/> F16, Q8_0 or Q4_0, row k at
/// <c>First + k·RowBytes</c>, and the head being read starting at value <see cref="Element"/> of each row (a head's
/// slice of a quantized row starts inside a 32-value block when the head is narrower than a block).
/// </summary>
public readonly unsafe struct KvRows
{
    public KvRows(GgmlType type, byte* first, long rowBytes, int element)
    {
        Type = type;
        First = first;
        RowBytes = rowBytes;
        Element = element;
    }

    public GgmlType Type { get; }
    public byte* First { get; }
    public long RowBytes { get; }
    public int Element { get; }

    /// <summary>F16 rows of <paramref name="stride"/> halves each, read from their first value.</summary>
    public static KvRows Halves(Half* first, int stride) => new(GgmlType.F16, (byte*)first, 2L * stride, 0);
}
