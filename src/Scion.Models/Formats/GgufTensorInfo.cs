using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>One tensor's entry in a GGUF file.</summary>
/// <param name="Shape">ggml order: Shape[0] is the fastest-varying (row length), as stored in the file.</param>
/// <param name="Offset">Offset from the start of the tensor data section.</param>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, long Offset, long ByteSize)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    /// <summary>Row length (ne0) and number of rows (product of the other dimensions).</summary>
    public long Cols => Shape.Length == 0 ? 1 : Shape[0];
    public long Rows => ElementCount / Math.Max(1, Cols);
    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
