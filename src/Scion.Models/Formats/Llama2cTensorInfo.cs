namespace Scion.Models.Formats;

/// <summary>
/// One fp32 tensor of a llama2.c checkpoint. Per-layer tensors are stored stacked, so Shape[0] is the layer.
/// </summary>
/// <param name="Shape">PyTorch order, e.g. wq is [layers, dim, dim] = [layers, out, in].</param>
/// <param name="Offset">Byte offset in the file.</param>
public sealed record Llama2cTensorInfo(string Name, long[] Shape, long Offset)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteSize => ElementCount * sizeof(float);
    public override string ToString() => $"{Name} F32 [{string.Join(", ", Shape)}] at {Offset}";
}
